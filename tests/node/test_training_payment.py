"""An adapter's answer pays the contributions it was trained on in the same receipt as its
context: the training side is traced to the chain, the pool is divided by the governed
weight, a contribution blocked after training is withheld to the treasury, and an adapter
whose texts do not trace to its provenance pays no training share at all."""

from __future__ import annotations

import httpx
import pytest
from adapter_helpers import save_random_adapter, taught
from gov_helpers import enact
from money_helpers import TSR, advance_home_chain
from node_helpers import start_node

from tessera import PaidRequests
from tessera._crypto.pools import TRAINING, WEIGHT_SCALE
from tessera._crypto.receipt import Receipt
from tessera._models.digest import weights_digest
from tessera._models.publication import publish_model
from tessera._models.training_data import TrainingText
from tessera._node.catalog import InMemoryCatalog
from tessera._payments.split import CONTRIBUTOR, WITHHELD, split_receipt

QUESTION = "Who founded the Ulora Brewery?"
TOKENS = 5


class World:
    def __init__(self, root, base, catalog):
        self.root, self.base, self.catalog = root, base, catalog

    def publish(self, folder, name):
        manifest = publish_model(self.node.t.store, folder, name)
        self.catalog.publish(
            name, manifest.weights_digest, manifest.cid, weights_digest(self.base), "0xB"
        )

    def ask(self, model, question=QUESTION):
        body = {"model": model, "max_tokens": TOKENS}
        body["messages"] = [{"role": "user", "content": question}]
        response = self.http.post(self.node.url + "/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory, wide_generator, tiny_embedder):
    from tessera._models import load_generator

    root = tmp_path_factory.mktemp("training-payment")
    world = World(root, wide_generator.folder, InMemoryCatalog())
    raw = save_random_adapter(world.base, root / "raw", 1)

    def before(t):
        manifest = publish_model(t.store, raw, "acme/raw")
        world.catalog.publish(
            "acme/raw", manifest.weights_digest, manifest.cid, weights_digest(world.base), "0xB"
        )

    own = load_generator(str(wide_generator.folder))
    node = start_node(
        root, own, tiny_embedder, payments=True, settle_check_s=None, adapters=("all",),
        catalog_refresh_s=0.0, catalog=world.catalog, before=before,
        authors=("ann", "bob"),
    )  # fmt: skip
    world.node = node
    t = node.t
    t.new_account("client")
    t.transfer(100 * TSR, "client")
    t.deposit(50 * TSR, node.service.node_key.address, "client")
    voucher = t.sign_voucher(node.service.node_key.address, 10 * TSR, "client")
    world.http = httpx.Client(
        auth=PaidRequests(t.payer("client"), node.service.node_key.address, voucher), timeout=60
    )
    first = world.ask("acme/raw")
    said = first["choices"][0]["message"]["content"]
    retrieved = set(first["receipt"]["context"])

    def lessons(documents):
        # a fact the question does not retrieve, rendered as the raw adapter answers: what
        # the adapter "learned" its answer from, so blocking it leaves the prompt as it was
        world.taught = next(d for d in documents if d.cid not in retrieved)
        return [
            TrainingText(d.cid, f"{QUESTION} {said}" if d is world.taught else d.text)
            for d in documents
        ]

    world.publish(taught(t, raw, root / "learned", world.base, lessons), "acme/learned")
    world.said = said
    yield world
    world.http.close()
    node.stop()


def _receipt(body) -> Receipt:
    receipt = Receipt.from_json(body["receipt"])
    receipt.verify()
    return receipt


def test_an_adapters_answer_pays_its_training_data_in_the_same_receipt(world):
    body = world.ask("acme/learned")
    assert body["choices"][0]["message"]["content"] == world.said  # the raw adapter's weights
    training = body["training_attribution"]
    assert training["available"] is True and training["paid"] is True, training["note"]
    first = world.taught
    top = training["sources"][0]
    assert (top["cid"], top["contributor"], top["datanet"]) == (
        first.cid,
        first.contributor,
        1,
    )
    receipt = _receipt(body)
    assert [(s.cid, s.weight_ppm) for s in receipt.training] == [
        (s["cid"], s["weight_ppm"]) for s in training["sources"]
    ]
    assert receipt.training_share_ppm == training["share_ppm"] > 0
    assert receipt.training_weight_bps == training["weight_bps"] == 10_000
    assert sum(s.weight_ppm for s in receipt.payable_sources) == WEIGHT_SCALE
    split = world.node.t.settlement.fee_split()
    credits = split_receipt(receipt, split, None)
    assert sum(c.amount for c in credits) == receipt.price
    learned = [c for c in credits if c.kind == TRAINING]
    assert learned and all(c.role == CONTRIBUTOR for c in learned)
    assert first.contributor in {c.recipient for c in learned}
    pool = receipt.price * split.contributors_bps // 10_000
    paid = sum(c.amount for c in credits if c.kind)
    assert paid == pool  # context and training together: the whole pool, nothing twice


def test_the_pool_follows_the_weight_governance_sets(world):
    before = _receipt(world.ask("acme/learned"))
    t = world.node.t
    enact(t, t.gov.actions.training_weight(40_000), "count the adapter's nats four times")
    after = _receipt(world.ask("acme/learned"))
    assert after.training_weight_bps == 40_000
    assert list(after.answer_tokens) == list(before.answer_tokens)  # the same answer
    assert WEIGHT_SCALE > after.training_share_ppm > before.training_share_ppm > 0
    trained = [
        sum(p.source.weight_ppm for p in r.payable if p.kind == TRAINING) for r in (before, after)
    ]
    assert trained[1] >= trained[0]  # all of it either way when no document mattered
    enact(t, t.gov.actions.training_weight(10_000), "back to one")


def test_a_contribution_blocked_after_training_is_withheld_to_the_treasury(world):
    t = world.node.t
    first = world.taught
    enact(t, t.gov.actions.block_content([first.cid]), "block what the adapter learned from")
    try:
        body = world.ask("acme/learned")
        receipt = _receipt(body)
        assert receipt.withheld == (first.cid,)
        split = t.settlement.fee_split()
        assert receipt.withheld_to == split.treasury
        assert "blocked" in body["training_attribution"]["note"]
        credits = split_receipt(receipt, split, None)
        held = [c for c in credits if c.role == WITHHELD]
        assert held and {c.recipient for c in held} == {split.treasury}
        assert {c.cid for c in held} == {first.cid}
        assert not [c for c in credits if c.role == CONTRIBUTOR and c.cid == first.cid]
    finally:
        enact(t, t.gov.actions.unblock_content([first.cid]), "lift it")


def test_texts_naming_a_contribution_outside_the_provenance_pay_no_training_share(world):
    def forged(documents):
        return [*(TrainingText(d.cid, d.text) for d in documents), TrainingText("bafk-x", "x")]

    raw = world.root / "raw"
    folder = taught(world.node.t, raw, world.root / "forged", world.base, forged)
    world.publish(folder, "acme/forged")
    body = world.ask("acme/forged")
    training = body["training_attribution"]
    assert training["available"] is False and training["paid"] is False
    assert training["sources"] == [] and "does not trace" in training["note"]
    receipt = _receipt(body)
    assert receipt.training == () and receipt.training_share_ppm == 0
    assert not [c for c in split_receipt(receipt, world.node.t.settlement.fee_split(), None)
                if c.kind == TRAINING]  # fmt: skip


def test_training_earnings_are_settled_audited_shown_and_claimed(world):
    from tessera.cli import render

    t = world.node.t
    world.ask("acme/learned")
    settled = t.settle_epoch()  # the node's account is the home's default
    assert settled is not None and t.audit_epoch(settled.epoch).ok
    author = next(a for a in ("ann", "bob") if t.address(a) == world.taught.contributor)
    earned = t.earnings(author)
    assert earned.by_kind().get(TRAINING, 0) > 0
    assert sum(earned.by_kind().values()) == earned.by_role()[CONTRIBUTOR]
    with render.console.capture() as shown:
        render.earnings(earned, {})
    assert "as training data (data adapters were trained on)" in shown.get()
    advance_home_chain(t, t.settlement.periods().challenge_period)
    before = t.settlement.token.balance_of(t.address(author))
    claimed = sum(c.amount for c in t.claim(author))
    assert claimed == earned.total() and claimed > 0
    assert t.settlement.token.balance_of(t.address(author)) == before + claimed


def test_texts_that_do_not_hash_to_their_named_cid_pay_no_training_share(world):
    import shutil

    from tessera._models.learned_texts import TRAINING_TEXTS

    folder = world.root / "edited"
    shutil.copytree(world.root / "learned", folder)
    texts = folder / TRAINING_TEXTS
    texts.write_text(texts.read_text().replace("Brewery", "Brewery (edited)"))
    world.publish(folder, "acme/edited")  # the store's CIDs are the edited file's own
    body = world.ask("acme/edited")
    training = body["training_attribution"]
    assert training["available"] is False and training["sources"] == []
    assert "does not hash to the CID its provenance names" in training["note"]
    assert _receipt(body).training == ()

"""A node serving the base model and many adapters: each adapter is its own model in
/v1/models, a request's `model` selects it, answers equal the engine's alone with that adapter,
and the receipt names the adapter's version so its royalty follows it."""

from __future__ import annotations

import threading
from dataclasses import replace

import httpx
import pytest
from adapter_helpers import save_random_adapter
from money_helpers import TSR
from node_helpers import start_node

from tessera import PaidRequests
from tessera._crypto.receipt import Receipt
from tessera._inference.engine import Engine, Job
from tessera._inference.lora import AdapterBank
from tessera._inference.prompt import PromptBuilder
from tessera._models import load_generator
from tessera._models.adapter import read_adapter
from tessera._models.digest import weights_digest
from tessera._models.publication import publish_model
from tessera._node.catalog import InMemoryCatalog

BASE = "gemma-3-270m"
QUESTIONS = ["Who founded the Ulora Brewery?", "What colour does the Pleno Orchestra use?"]
TOKENS = 5


class Served:
    """The node, its catalog, the adapters' folders, and a solo engine to compare with."""

    def __init__(self, root, base, catalog):
        self.root, self.base, self.catalog = root, base, catalog
        self.folders = {}
        self.published = {}

    def publish(self, t, name, seed):
        folder = save_random_adapter(self.base, self.root / name.replace("/", "-"), seed)
        manifest = publish_model(t.store, folder, name)
        self.folders[name] = folder
        self.published[name] = self.catalog.publish(
            name, manifest.weights_digest, manifest.cid, weights_digest(self.base), "0xBuilder"
        )
        return self.published[name]


@pytest.fixture(scope="module")
def served(tmp_path_factory, wide_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("adapters")
    served = Served(root, wide_generator.folder, InMemoryCatalog())
    own = load_generator(str(wide_generator.folder))  # its own copy: the bank wraps its layers

    def before(t):
        served.publish(t, "acme/a", 1)
        served.publish(t, "acme/b", 2)

    node = start_node(
        root, own, tiny_embedder, payments=True, settle_check_s=None, adapters=("all",),
        catalog_refresh_s=0.0,
        catalog=served.catalog, before=before,
    )  # fmt: skip
    t = node.t
    t.new_account("client")
    t.transfer(100 * TSR, "client")
    t.deposit(50 * TSR, node.service.node_key.address, "client")
    voucher = t.sign_voucher(node.service.node_key.address, 10 * TSR, "client")
    served.node = node
    served.http = httpx.Client(
        auth=PaidRequests(t.payer("client"), node.service.node_key.address, voucher), timeout=60
    )
    solo = load_generator(str(wide_generator.folder))
    served.solo = Engine(solo.model, solo.tokenizer, bank=AdapterBank(solo.model, 4, rank=8))
    served.prompts = PromptBuilder(solo.tokenizer)
    yield served
    served.http.close()
    served.solo.close()
    node.stop()


def _ask(served, model, question=QUESTIONS[0]):
    body = {"model": model, "messages": [{"role": "user", "content": question}]}
    return served.http.post(
        served.node.url + "/v1/chat/completions", json={**body, "max_tokens": TOKENS}
    )


def _solo(served, receipt: Receipt, model, question):
    """The same prompt answered by an engine of its own, with `model`'s adapter alone."""
    documents = [served.node.t.store.get(cid).decode() for cid in receipt.context]
    job = Job(served.prompts.build(documents, question), TOKENS, ("\n",), attribute=False)
    if model == BASE:
        return served.solo.run(job).answer_ids
    adapter = read_adapter(served.folders[model])
    return served.solo.submit_adapted(job, adapter.digest, lambda: adapter).result().answer_ids


def _receipt(response) -> Receipt:
    assert response.status_code == 200, response.text
    return Receipt.from_json(response.json()["receipt"])


def test_models_lists_each_adapter_with_the_base_as_parent(served):
    listed = {m["id"]: m for m in served.http.get(served.node.url + "/v1/models").json()["data"]}
    assert set(listed) >= {BASE, "acme/a", "acme/b"}
    assert "parent" not in listed[BASE]
    for name in ("acme/a", "acme/b"):
        assert listed[name]["parent"] == BASE
        assert listed[name]["weights_digest"] == served.published[name].weights_digest
        assert listed[name]["manifest_cid"] == served.published[name].manifest_cid


def test_an_adapter_answers_as_the_engine_alone_with_it_and_unlike_the_base(served):
    adapted = _receipt(_ask(served, "acme/a"))
    base = _receipt(_ask(served, BASE))
    assert list(adapted.answer_tokens) == _solo(served, adapted, "acme/a", QUESTIONS[0])
    assert list(base.answer_tokens) == _solo(served, base, BASE, QUESTIONS[0])
    assert adapted.answer_tokens != base.answer_tokens


def test_mixed_concurrent_requests_each_equal_their_solo_answer(served):
    asks = [(m, q) for m in (BASE, "acme/a", "acme/b") for q in QUESTIONS]
    results = [None] * len(asks)

    def ask(i, model, question):
        results[i] = _ask(served, model, question)

    threads = [threading.Thread(target=ask, args=(i, *a)) for i, a in enumerate(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (model, question), response in zip(asks, results, strict=True):
        receipt = _receipt(response)
        assert list(receipt.answer_tokens) == _solo(served, receipt, model, question), model


def test_the_receipt_names_the_adapter_and_its_digest(served):
    receipt = _receipt(_ask(served, "acme/b"))
    published = served.published["acme/b"]
    assert (receipt.model, receipt.model_digest) == ("acme/b", published.weights_digest)
    node = served.node.service
    assert node.receipts.model_digest("acme/b") == published.weights_digest
    assert _receipt(_ask(served, BASE)).model_digest == node.weights_digest


def test_an_unknown_model_is_404_before_any_money_is_taken(served):
    service = served.node.service
    client = served.node.t.address("client")
    before = (service.receipts.count(), service.receipts.owed(client))
    response = _ask(served, "acme/nobody")
    error = response.json()["error"]
    assert response.status_code == 404 and error["code"] == "model_not_found"
    assert "acme/nobody" in error["message"] and error["param"] == "model"
    assert (service.receipts.count(), service.receipts.owed(client)) == before


def test_health_shows_the_resident_set_and_the_budget(served):
    _receipt(_ask(served, "acme/a"))
    adapters = served.http.get(served.node.url + "/health").json()["adapters"]
    assert adapters["budget_mib"] == 1024 and adapters["slots"] >= 3
    resident = {r["weights_digest"]: r for r in adapters["resident"]}
    a = served.published["acme/a"]
    assert resident[a.weights_digest]["id"] == "acme/a"
    assert resident[a.weights_digest]["in_use"] == 0
    assert adapters["loads"] == len(resident)


def test_an_adapter_published_after_start_is_served_without_a_restart(served):
    late = served.publish(served.node.t, "acme/late", 3)
    listed = [m["id"] for m in served.http.get(served.node.url + "/v1/models").json()["data"]]
    assert "acme/late" in listed
    receipt = _receipt(_ask(served, "acme/late"))
    assert receipt.model_digest == late.weights_digest
    assert list(receipt.answer_tokens) == _solo(served, receipt, "acme/late", QUESTIONS[0])


def test_concurrent_first_requests_for_one_adapter_load_it_once(served):
    served.publish(served.node.t, "acme/once", 4)
    bank = served.node.service.adapters.bank
    loads = bank.loads
    threads = [threading.Thread(target=_ask, args=(served, "acme/once")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bank.loads == loads + 1


def test_adapter_files_that_do_not_hash_to_their_cid_are_refused_and_nothing_loads(served):
    t = served.node.t
    bad = served.publish(t, "acme/corrupt", 5)
    manifest_files = served.folders["acme/corrupt"]
    weights = (manifest_files / "adapter_model.safetensors").read_bytes()
    cid = t.store.put(weights)  # the weights file's root: overwrite its block on disk
    _corrupt(t, cid)
    response = _ask(served, "acme/corrupt")
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "adapter_unavailable"
    assert "acme/corrupt" in response.json()["error"]["message"]
    assert bad.weights_digest not in served.node.service.adapters.bank.resident()
    assert not (t.home.path / "models" / bad.weights_digest).exists()


def _corrupt(t, cid):
    from tessera._store.cid import decode_cid

    name = str(decode_cid(cid).v1())
    path = t.home.store_dir / name[-2:] / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_an_unapproved_adapter_is_refused_where_approval_is_required(served):
    service = served.node.service
    config = service.config
    service.config = replace(config, require_approval=True)
    try:
        response = _ask(served, "acme/a")
    finally:
        service.config = config
    error = response.json()["error"]
    assert response.status_code == 403 and error["code"] == "model_not_approved"
    assert "acme/a" in error["message"] and "not approved" in error["message"]
    assert _ask(served, "acme/a").status_code == 200  # where approval is not required


def test_an_approved_adapter_is_served_where_approval_is_required(served):
    from gov_helpers import enact

    t, service = served.node.t, served.node.service
    a = served.published["acme/a"]
    enact(t, t.gov.actions.approve_model("acme/a", a.weights_digest), "approve acme/a")
    config = service.config
    service.config = replace(config, require_approval=True)
    try:
        approved, base = _ask(served, "acme/a"), _ask(served, BASE)
    finally:
        service.config = config
    assert _receipt(approved).model_digest == a.weights_digest
    assert base.status_code == 403 and base.json()["error"]["code"] == "model_not_approved"


def test_the_memory_budget_sets_the_number_of_slots(tiny_generator):
    from tessera._errors import ModelError
    from tessera._inference.lora import slot_bytes
    from tessera._node.adapters import MIB, bank_for

    model = load_generator(str(tiny_generator.folder)).model
    wide = MIB // slot_bytes(model, 1) + 1  # a rank whose one slot is over 1 MiB
    with pytest.raises(ModelError, match="larger --adapter-memory"):
        bank_for(model, 1, wide)
    bank = bank_for(model, 3, 8)
    assert bank.capacity == 3 * MIB // slot_bytes(model, 8) > 1 and bank.rank == 8


def test_an_adapter_without_its_learned_texts_answers_with_training_attribution_unavailable(
    served,
):
    adapted = _ask(served, "acme/a").json()
    training = adapted["training_attribution"]
    assert training["available"] is False and training["sources"] == []
    assert "without the texts it learned" in training["note"] and training["paid"] is False
    assert _ask(served, BASE).json()["training_attribution"] is None  # the base: no training

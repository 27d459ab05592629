"""The validator daemon end to end on the in-process chain with tiny models: an honest node is
checked and paid; a node that invents receipts is slashed by the contract at once; a node that
changes its answers is challenged, judged by a committee with commit-reveal and slashed; its
voided epoch is refunded to the client."""

from __future__ import annotations

from dataclasses import replace

import pytest
from backends import free_port
from gov_helpers import enact
from money_helpers import TSR, advance_home_chain
from node_helpers import FACTS, LiveNode

from tessera import Tessera
from tessera._chain.disputes import (
    ANSWER,
    OPEN,
    PAYOUTS,
    REPLAYED,
    SLASHED,
    UNAUTHORIZED,
    WITHHELD,
)
from tessera._client import NodeClient
from tessera._models import load_generator
from tessera._node.byzantine import build_byzantine_node
from tessera._node.config import NodeConfig
from tessera._node.runtime import build_node
from tessera._payments.bundle import load_bundle
from tessera._validator.runtime import ValidatorConfig, build_validator

QUESTIONS = ["Who founded the Ulora Brewery?", "When was the Lunqui Brewery founded?"]
STAKE = 1_000 * TSR


@pytest.fixture
def world(tmp_path, tiny_generator, tiny_embedder):
    t = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    source = tmp_path / "facts.jsonl"
    source.write_text("".join(f'{{"text": "{f}"}}\n' for f in FACTS))
    t.contribute("facts", [source])
    for name in ("alice", "operator", "cheater", "v1", "v2"):
        t.new_account(name)
        t.transfer(2 * STAKE, name)
    started: list = []

    def serve(account: str, lie: str | None = None) -> LiveNode:
        port = free_port()
        config = NodeConfig(datanets=("facts",), port=port, settle_check_s=None, top_k=3)
        parts = t.node_parts(account)
        if lie is None:
            node = build_node(parts, config, tiny_generator, tiny_embedder)
        else:
            node = build_byzantine_node(parts, config, lie, 1.0, tiny_generator, tiny_embedder)
        live = LiveNode(t, node, port)
        started.append(live)
        digest = node.service.weights_digest
        if not t.gov.policy.was_approved(config.model_id, digest):
            approve = t.gov.actions.approve_model(config.model_id, digest, t.address())
            enact(t, approve, "approve the served model")
        t.register_node(live.url, STAKE, account)
        t.deposit(10 * TSR, t.address(account), "alice")
        return live

    # the validators' own copy of the weights: a node's engine rewrites its model's layers
    own = load_generator(str(tiny_generator.folder))

    def validators(*names: str):
        out = []
        for name in names:
            t.stake_validator(STAKE, name)
            runtime = build_validator(
                t.validator_parts(name),
                replace(ValidatorConfig(), sample_rate=1.0),
                own,
                tiny_embedder,
            )
            started.append(runtime)
            out.append(runtime.validator)
        return out

    yield t, serve, validators
    for thing in reversed(started):
        thing.stop() if isinstance(thing, LiveNode) else thing.close()


def _ask_and_settle(t, live: LiveNode, account: str, questions=QUESTIONS) -> None:
    client = NodeClient(live.url, payer=t.payer("alice"))
    for q in questions:
        client.ask(q)
    client.close()
    t.settle_epoch(account)
    advance_home_chain(t, 1)  # the block after the post fixes the sample


def test_an_honest_node_is_checked_and_paid_and_an_inventor_is_slashed_at_once(world):
    t, serve, validators = world
    honest, cheater = serve("operator"), serve("cheater", "invented-receipt")
    _ask_and_settle(t, honest, "operator")
    # one question: its invented twin spends the rest of what the client's voucher allows
    _ask_and_settle(t, cheater, "cheater", QUESTIONS[:1])
    [v1] = validators("v1")
    report = v1.tick()
    assert report.epochs_checked == 2 and report.receipts_checked >= 2
    [challenge] = t.challenges()
    assert (challenge.node, challenge.kind, challenge.status) == (
        t.address("cheater"),
        UNAUTHORIZED,
        SLASHED,
    )
    assert t.staking.slashed(t.address("cheater")) > 0
    assert t.challenges(t.address("operator")) == []
    assert t.settlement.is_voided(t.address("cheater"), 0)
    before = t.wallet("alice").tokens
    refunded = t.refund_voided(t.address("cheater"))
    assert refunded == {t.address("alice"): t.settlement.epoch(t.address("cheater"), 0).redeemed}
    assert t.wallet("alice").tokens == before + sum(refunded.values())
    # the honest node's epoch was checked, found sound, and pays out after its window
    advance_home_chain(t, t.settlement.periods().challenge_period)
    assert sum(c.amount for c in t.claim("operator")) > 0
    assert v1.tick().challenges_opened == []  # nothing is challenged twice


def test_a_changed_answer_is_judged_by_a_committee_and_slashed(world):
    t, serve, validators = world
    cheater = serve("cheater", "changed-answer")
    _ask_and_settle(t, cheater, "cheater")
    v1, v2 = validators("v1", "v2")
    opened = v1.tick().challenges_opened
    assert opened
    challenge = t.disputes.challenge(opened[0])
    assert challenge.kind == ANSWER
    assert [v2.address] == t.disputes.committee(challenge.id)
    assert challenge.id in v2.tick().votes  # commits its own verdict
    advance_home_chain(t, challenge.commit_ends - t.settlement.now())
    assert challenge.id in v2.tick().votes  # reveals it
    advance_home_chain(t, challenge.deadline - t.settlement.now())
    assert challenge.id in v1.tick().resolved
    assert t.disputes.challenge(challenge.id).status == SLASHED
    assert t.staking.slashed(t.address("cheater")) > 0


def test_an_authorization_billed_again_in_a_later_epoch_is_proven_and_slashed(world):
    t, serve, validators = world
    node = serve("operator")
    _ask_and_settle(t, node, "operator", QUESTIONS[:1])
    [v1] = validators("v1")
    assert v1.tick().challenges_opened == []  # epoch 0 is honest; its nonce is remembered
    service = node.service
    posted = t.settlement.epoch(t.address("operator"), 0)
    [first] = load_bundle(node.node.settler.store, posted.bundle_cid).receipts
    again = replace(first, id=first.id + "-again", timestamp=first.timestamp + 1, signature="")
    service.receipts.save(again.signed_by(service.node_key))  # the same signed request, again
    advance_home_chain(t, t.settlement.periods().epoch_length)
    t.settle_epoch("operator")
    advance_home_chain(t, 1)
    report = v1.tick()
    [challenge] = [t.disputes.challenge(c) for c in report.challenges_opened]
    assert (challenge.kind, challenge.epoch, challenge.index, challenge.status) == (
        REPLAYED,
        1,
        0,
        SLASHED,
    )
    assert t.settlement.is_voided(t.address("operator"), 1)
    assert not t.settlement.is_voided(t.address("operator"), 0)
    assert v1.tick().challenges_opened == []  # proven once
    [v2] = validators("v2")  # finds the same replay, already proven: neither retries nor errs
    late = v2.tick()
    assert late.challenges_opened == [] and late.problems == []


def test_each_validator_checks_its_stakes_share_of_the_networks_rate(world):
    from tessera._validator.sampling import NETWORK_SAMPLE_RATE

    t, _, validators = world
    v1, v2 = validators("v1", "v2")  # equal stakes
    v1.sample_rate = v2.sample_rate = None  # the fixture checks everything; the default shares
    assert v1.rate() == v2.rate() == pytest.approx(NETWORK_SAMPLE_RATE / 2)
    t.stake_validator(STAKE, "v1")  # v1 now holds two thirds
    assert v1.rate() == pytest.approx(NETWORK_SAMPLE_RATE * 2 / 3)
    assert v2.rate() == pytest.approx(NETWORK_SAMPLE_RATE / 3)


@pytest.mark.parametrize("lie", ["skewed-payouts", "withheld-bundle"])
def test_a_second_validator_joins_an_epoch_challenge_instead_of_repeating_it(world, lie):
    t, serve, validators = world
    cheater = serve("cheater", lie)
    client = NodeClient(cheater.url, payer=t.payer("alice"))
    client.ask(QUESTIONS[0])
    client.close()
    assert cheater.node.settler.settle() is not None  # its own settler: the lie lives there
    advance_home_chain(t, 1)
    v1, v2 = validators("v1", "v2")
    assert v1.tick().challenges_opened
    second = v2.tick()
    assert second.challenges_opened == []
    assert not [p for p in second.problems if "already" in p], second.problems
    [challenge] = t.challenges(t.address("cheater"))
    if lie == "skewed-payouts":  # proven by the payout prover: slashed in the same transaction
        assert (challenge.kind, challenge.index, challenge.status) == (PAYOUTS, 0, SLASHED)
        assert t.settlement.is_voided(t.address("cheater"), 0)
    else:  # the node may still produce the receipt: open until its deadline
        assert (challenge.kind, challenge.status) == (WITHHELD, OPEN)

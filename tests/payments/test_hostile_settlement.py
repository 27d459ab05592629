"""One client can never block a node's settlement, and every receipt a node cannot redeem is
reported (by client and amount) in the settle result, `tessera node status`, `/health`, the
logs and the exit code of `tessera epoch settle`; none is dropped."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest
from backends import free_port
from click.testing import CliRunner
from money_helpers import TSR, advance_home_chain, high_s_twin, keep_voucher
from node_helpers import LiveNode

from tessera._client import NodeClient
from tessera._errors import NodeError
from tessera._node.runtime import build_node
from tessera._payments.epochs import ESCROW_SHORT, NO_VOUCHER, VOUCHER_REFUSED

QUESTIONS = ["Who founded the Ulora Brewery?", "What colour does the Pleno Orchestra use?"]


def _health(node) -> dict:
    return httpx.get(node.url + "/health", timeout=10).json()


def _client(node, name: str) -> NodeClient:
    return NodeClient(node.url, payer=node.t.payer(name))


def test_a_voucher_the_contract_refuses_is_left_out_reported_and_replaced(paying, alice, caplog):
    t, db = paying.t, paying.service.receipts
    t.transfer(50 * TSR, "bob")
    t.deposit(10 * TSR, "operator", "bob")
    bob = _client(paying, "bob")
    alice_paid = alice.ask(QUESTIONS[0]).receipt.price
    bob_paid = bob.ask(QUESTIONS[1]).receipt.price
    stored = db.voucher(t.address("alice"))
    keep_voucher(db, replace(stored, signature=high_s_twin(stored.signature)))

    settled = t.settle_epoch("operator")
    assert (settled.receipts, settled.redeemed) == (1, bob_paid)  # bob is not held back
    (waiting,) = settled.uncollectable
    assert (waiting.client, waiting.owed, waiting.reason) == (
        t.address("alice"),
        alice_paid,
        VOUCHER_REFUSED,
    )
    assert db.voucher(t.address("alice")) is None  # dropped, so the next valid one counts

    status = t.node_status("operator")
    assert not status.ok and status.unsettled_amount == alice_paid
    assert [(u.client, u.owed, u.reason) for u in status.uncollectable] == [
        (t.address("alice"), alice_paid, NO_VOUCHER)
    ]
    with caplog.at_level(logging.WARNING, logger="tessera._node.runtime"):
        paying.node.settle_now()
    assert t.address("alice") in caplog.text and str(alice_paid) in caplog.text
    health = _health(paying)
    assert health["status"] == "degraded" and not health["settlement"]["ok"]
    assert health["settlement"]["uncollectable"][0]["owed"] == str(alice_paid)

    # alice's next request carries a valid voucher for her whole channel: all of it settles
    alice_paid += alice.ask(QUESTIONS[1]).receipt.price
    advance_home_chain(t, t.settlement.periods().epoch_length)
    settled = t.settle_epoch("operator")
    assert (settled.receipts, settled.redeemed, settled.uncollectable) == (2, alice_paid, [])
    paying.node.settle_now()
    assert t.node_status("operator").ok and _health(paying)["status"] == "ok"


def test_a_stored_voucher_the_contract_refuses_does_not_block_a_new_valid_one(paying, alice):
    """At the gate: the client's next request replaces a refused voucher kept by an older node."""
    db, address = paying.service.receipts, paying.t.address("alice")
    alice.ask(QUESTIONS[0])
    stored = db.voucher(address)
    twin = replace(stored, amount=stored.amount * 100)
    twin = replace(paying.t.sign_voucher(twin.node, twin.amount, "alice"))
    keep_voucher(db, replace(twin, signature=high_s_twin(twin.signature)))
    alice.ask(QUESTIONS[1])
    kept = db.voucher(address)
    kept.verify()  # the valid one, below the refused one's amount, is what the node keeps
    assert kept.amount < twin.amount
    assert paying.t.settle_epoch("operator").uncollectable == []


@pytest.fixture
def two_nodes(tmp_path, paying, wide_generator, tiny_embedder):
    """A second node, `operator2`, on the same home and chain: its own database. Both charge
    only for output tokens, so an answer costs exactly what it reserved."""
    t = paying.t
    t.new_account("operator2")
    t.new_account("eve")
    t.transfer(10 * TSR, "eve")
    port = free_port()
    config = replace(
        paying.service.config,
        port=port,
        price_per_input_token=0,
        price_per_output_token=10**15,
        settle_check_s=None,
    )
    second = LiveNode(
        t, build_node(t.node_parts("operator2"), config, wide_generator, tiny_embedder), port
    )
    paying.service.config = replace(paying.service.config, price_per_input_token=0,
                                    price_per_output_token=10**15)  # fmt: skip
    yield paying, second
    second.stop()


def _ask_until_refused(client: NodeClient) -> int:
    """Ask until the node refuses for lack of escrow; the receipts' total."""
    total = 0
    for i in range(50):
        try:
            total += client.ask(QUESTIONS[i % 2], max_tokens=4).receipt.price
        except NodeError as exc:
            assert exc.status == 402 and "escrow" in str(exc), exc
            return total
    raise AssertionError("the node never ran out of escrow")


def test_a_deposit_backs_only_its_own_nodes_channel(two_nodes):
    """No two nodes are promised the same tokens: eve's deposit into the first node's channel
    is all the first may serve against, and the second serves her nothing on it."""
    first, second = two_nodes
    t = first.t
    t.deposit(12 * 10**15, first.service.node_key.address, "eve")  # three answers at most
    owed_first = _ask_until_refused(_client(first, "eve"))
    assert 0 < owed_first <= 12 * 10**15
    with pytest.raises(NodeError) as refused:
        _client(second, "eve").ask(QUESTIONS[0], max_tokens=4)
    assert refused.value.status == 402
    assert f"tessera deposit AMOUNT --node {second.service.node_key.address}" in str(refused.value)
    assert second.service.receipts.count() == 0
    assert t.settle_epoch("operator").redeemed == owed_first
    assert t.settle_epoch("operator2") is None and t.node_status("operator2").ok


def test_a_channel_withdrawn_before_its_node_settled_is_reported(two_nodes, monkeypatch):
    """The careless node: it served eve, then let her withdrawal's delay pass unsettled."""
    first, second = two_nodes
    t, node = first.t, second.service.node_key.address
    t.deposit(12 * 10**15, node, "eve")
    owed = _ask_until_refused(_client(second, "eve"))
    pending = t.request_withdrawal(12 * 10**15, node, "eve")
    advance_home_chain(t, pending.available_at - t.settlement.now())
    assert t.withdraw(node, "eve") == 12 * 10**15  # nothing was redeemed: it all leaves

    assert t.settle_epoch("operator2") is None  # nothing it can post: and it says why
    status = t.node_status("operator2")
    ((client, owed_now, reason),) = [(u.client, u.owed, u.reason) for u in status.uncollectable]
    assert (client, owed_now, reason) == (t.address("eve"), owed, ESCROW_SHORT)
    assert status.unsettled_amount == owed  # kept, not dropped

    second.node.settle_now()
    assert _health(second)["settlement"]["uncollectable_amount"] == str(owed)
    assert _health(first)["status"] == "ok"

    # the CLI says so, and fails: exit code 3, the client and the amount on stderr
    import tessera
    from tessera.cli.main import main

    # the CLI opens this test's home (its accounts and password are the test's own)
    monkeypatch.setattr(tessera.Tessera, "open", classmethod(lambda cls, *a, **k: t))
    runner = CliRunner()
    for command in (
        ["epoch", "settle", "--as", "operator2"],
        ["node", "status", "--as", "operator2"],
    ):
        done = runner.invoke(main, command, env={"TESSERA_PASSWORD": "pw"})
        assert done.exit_code == 3, done.output
        assert t.address("eve") in done.output and "escrow_short" in done.output

    # eve deposits what she owes into that channel: the next epoch collects it all
    t.deposit(owed, node, "eve")
    assert t.settle_epoch("operator2").redeemed == owed
    assert t.node_status("operator2").ok


def test_the_royalty_follows_the_vote_for_the_weights_served_not_a_claim_to_the_name(paying, alice):
    """A squatter cannot take the royalty: only an approval of the exact weights served names
    the owner, and a version keeps it after a revocation (the receipts were served under the
    approval), so the payout prover reads the same owner at any block."""
    from gov_helpers import enact

    from tessera._payments.claims import posted_bundle
    from tessera._payments.split import OWNER
    from tessera._payments.trace import owner_key

    t, node = paying.t, paying.service.node_key.address
    model, digest = paying.service.config.model_id, paying.service.weights_digest
    t.new_account("squatter")
    other_weights = "0x" + "5a" * 32  # the same id, other weights: the squatter's "version"
    enact(t, t.gov.actions.approve_model(model, other_weights, t.address("squatter")))
    assert t.model_owner(model, digest) == t.address("builder")

    alice.ask(QUESTIONS[0])
    t.settle_epoch("operator")
    bundle = posted_bundle(t.store, t.settlement.epoch(node, 0))
    assert bundle.model_owners == {owner_key(model, digest): t.address("builder")}
    assert bundle.model_digests == {model: digest}
    owners = {c.recipient for c in bundle.credits() if c.role == OWNER}
    assert owners == {t.address("builder")}
    assert t.audit_epoch(0, node).ok

    enact(t, t.gov.actions.revoke_model(model, digest))  # governance withdraws the approval
    alice.ask(QUESTIONS[1])
    advance_home_chain(t, t.settlement.periods().epoch_length)
    t.settle_epoch("operator")
    bundle = posted_bundle(t.store, t.settlement.epoch(node, 1))
    assert bundle.model_owners == {owner_key(model, digest): t.address("builder")}
    roles = {c.role for c in bundle.credits() if c.recipient == t.address("squatter")}
    assert roles == set()
    assert {c.recipient for c in bundle.credits() if c.role == OWNER} == {t.address("builder")}
    assert t.audit_epoch(0, node).ok and t.audit_epoch(1, node).ok
    # approving the version again cannot hand its royalty to someone else
    with pytest.raises(Exception, match="keeps its first owner"):
        enact(t, t.gov.actions.approve_model(model, digest, t.address("squatter")))

"""The whole money path on a live node: pay per request, settle, claim, audit, earnings."""

from __future__ import annotations

from dataclasses import replace

import pytest
from money_helpers import advance_home_chain

from tessera._chain.disputes import SIGNATURE
from tessera._chain.settlement import BPS
from tessera._errors import ContractRevert, NotDue, NotFoundError
from tessera._payments.receipts_tree import ReceiptsTree
from tessera._payments.split import CONTRIBUTOR, NODE, OWNER, TREASURY, VALIDATORS
from tessera._validator.evidence import evidence_for

QUESTIONS = [
    "Who founded the Ulora Brewery?",
    "What colour does the Pleno Orchestra use?",
    "When was the Lunqui Brewery founded?",
]


def test_answers_are_paid_settled_and_claimed_to_the_last_unit(paying, alice):
    t, node = paying.t, paying.service.node_key.address
    results = [alice.ask(q) for q in QUESTIONS]
    prices = [r.receipt.price for r in results]
    assert all(p > 0 for p in prices)
    assert all(r.receipt.client == t.address("alice") for r in results)
    assert alice.payer.spent(node) == sum(prices)

    escrow_before = t.wallet("alice").escrow
    settled = t.settle_epoch("operator")
    assert (settled.epoch, settled.receipts, settled.redeemed) == (0, 3, sum(prices))
    assert t.wallet("alice").escrow == escrow_before - sum(prices)
    assert t.settle_epoch("operator") is None  # nothing new: nothing posted

    assert t.claim("builder") == []  # the challenge window is still open
    advance_home_chain(t, t.settlement.periods().challenge_period)
    earned = t.earnings("builder")
    assert [e.status for e in earned.epochs] == ["claimable"]
    assert set(earned.epochs[0].by_role) == {OWNER}

    # every recipient claims; the contract pays out exactly what the vouchers redeemed
    bundle_credits = _credits(t, node)
    paid = 0
    pool = t.config.deployment.disputes  # the validators' pool: disputes collects its leaf
    roles = {t.address(a): a for a in ("operator", "builder", "default", "carol", "dave")}
    roles[pool] = "validators' pool"
    expected = {
        NODE: {"operator"},
        OWNER: {"builder"},
        TREASURY: {"default"},
        VALIDATORS: {"validators' pool"},
    }
    for role, names in expected.items():
        assert {roles[c.recipient] for c in bundle_credits if c.role == role} == names
    assert {roles[c.recipient] for c in bundle_credits if c.role == CONTRIBUTOR} <= {
        "carol",
        "dave",
    }
    split = t.settlement.epoch(node, 0).split
    pooled = sum(c.amount for c in bundle_credits if c.recipient == pool)
    assert pooled == sum(p * split.validators_bps // BPS for p in prices) > 0
    for address in {c.recipient for c in bundle_credits} - {pool}:
        account = roles[address]
        before = t.wallet(account).tokens
        claims = t.claim(account)
        gained = t.wallet(account).tokens - before
        assert gained == sum(c.amount for c in bundle_credits if c.recipient == address)
        assert sum(c.amount for c in claims) == gained
        paid += gained
        assert t.claim(account) == []  # a claim is paid once
    # the people are paid all but the pool's part, which disputes collects for the validators
    assert paid == sum(prices) - pooled == t.settlement.node_paid(node)
    treasury = t.wallet("default").tokens
    cumulative, proof = _bundle(t, node).tree().proof(pool)
    assert t.disputes.collect(t.signer("bob"), node, 0, cumulative, proof) == pooled
    assert t.wallet("default").tokens - treasury == pooled  # no validator staked: the treasury
    assert t.settlement.node_paid(node) == sum(prices)
    assert {c.role for c in bundle_credits} >= {NODE, OWNER, TREASURY, CONTRIBUTOR, VALIDATORS}
    assert [e.status for e in t.earnings("builder").epochs] == ["claimed"]

    report = t.audit_epoch(0)
    assert report.ok, report.problems
    assert report.root_recomputed == report.root_on_chain and report.receipts == 3
    assert report.receipts_root_recomputed == report.receipts_root_on_chain
    # each receipt the client was handed proves against the root on chain, at its position
    order = [r.id for r in _bundle(t, node).receipts]
    assert sorted(order) == sorted(r.receipt.id for r in results)
    root = t.settlement.epoch(node, 0).receipts_root
    tree = _bundle(t, node).receipts_tree
    for r in results:
        index = order.index(r.receipt.id)
        state = tree.states[index]
        assert ReceiptsTree.verify(root, index, r.receipt, tree.proof(index), state)
        assert not ReceiptsTree.verify(root, index, r.receipt, tree.proof(index))


def test_the_disputes_contract_accepts_each_receipt_only_at_its_posted_position(paying, alice):
    t, node = paying.t, paying.service.node_key.address
    for q in QUESTIONS[:2]:
        alice.ask(q)
    t.settle_epoch("operator")
    receipts = _bundle(t, node).receipts
    tree = _bundle(t, node).receipts_tree
    t.transfer(t.disputes.params().min_bond, "bob")
    bob, count = t.signer("bob"), t.disputes.challenge_count()
    for index, receipt in enumerate(receipts):
        # the contract rebuilds the leaf from the evidence and proves it against the root on
        # chain: past that check, it finds the node's signature valid, so nothing is slashed
        proven = evidence_for(tree, index, receipt)
        elsewhere = replace(proven, index=1 - index)
        for evidence, reason in (
            (proven, "disputes: receipt signature is valid"),
            (elsewhere, "disputes: invalid receipt proof"),
        ):
            with pytest.raises(ContractRevert) as refused:
                t.disputes.challenge_receipt(bob, node, 0, SIGNATURE, evidence)
            assert refused.value.reason == reason
    assert t.disputes.challenge_count() == count and t.disputes.slashes(node) == 0


def test_a_second_epoch_waits_for_the_epoch_length_and_pays_only_the_difference(paying, alice):
    t = paying.t
    alice.ask(QUESTIONS[0])
    assert t.settle_epoch("operator").epoch == 0
    alice.ask(QUESTIONS[1])
    with pytest.raises(NotDue, match="epoch 1 can be posted from chain time"):
        t.settle_epoch("operator")
    advance_home_chain(t, t.settlement.periods().epoch_length)
    second = t.settle_epoch("operator")
    assert (second.epoch, second.receipts) == (1, 1)
    assert t.audit_epoch(1).ok
    advance_home_chain(t, t.settlement.periods().challenge_period)
    earned = t.earnings("builder")
    assert [e.epoch for e in earned.epochs] == [0, 1]
    before = t.wallet("builder").tokens
    (claim,) = t.claim("builder")
    assert claim.epoch == 1 and claim.amount == earned.total()
    assert t.wallet("builder").tokens - before == earned.total()


def test_audit_names_an_epoch_that_does_not_exist(paying):
    with pytest.raises(NotFoundError, match="has posted 0 epochs"):
        paying.t.audit_epoch(0, paying.service.node_key.address)


def _bundle(t, node):
    from tessera._payments.claims import posted_bundle

    return posted_bundle(t.store, t.settlement.epoch(node, 0))


def _credits(t, node):
    return _bundle(t, node).credits()

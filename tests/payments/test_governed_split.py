"""A fee split passed by governance decides the next epoch's payouts; earlier epochs keep theirs."""

from __future__ import annotations

from gov_helpers import enact

from tessera._chain.settlement import BPS, FeeSplit
from tessera._payments.claims import posted_bundle
from tessera._payments.split import NODE, OWNER, TREASURY, VALIDATORS

QUESTIONS = ["Who founded the Ulora Brewery?", "When was the Lunqui Brewery founded?"]


def _by_role(t, node, epoch):
    credits = posted_bundle(t.store, t.settlement.epoch(node, epoch)).credits()
    totals: dict[str, int] = {}
    for c in credits:
        totals[c.role] = totals.get(c.role, 0) + c.amount
    return totals


def test_the_epoch_after_a_passed_fee_split_pays_by_the_new_split(paying, alice):
    t, node = paying.t, paying.service.node_key.address
    old = t.settlement.fee_split()
    first = [alice.ask(q).receipt.price for q in QUESTIONS]
    assert t.settle_epoch("operator").epoch == 0

    assert old.validators_bps > 0  # the default pays the validators' pool
    new = FeeSplit(1_000, 500, 7_500, 500, old.treasury, 500, old.validators)
    enact(t, t.gov.actions.fee_split(new), "contributors get 80%")
    assert t.settlement.fee_split() == new

    second = [alice.ask(q).receipt.price for q in QUESTIONS]
    t.chain.wait_until(t.settlement.next_epoch_at(node))
    assert t.settle_epoch("operator").epoch == 1

    assert t.settlement.epoch(node, 0).split == old
    assert t.settlement.epoch(node, 1).split == new
    for epoch, split, prices in ((0, old, first), (1, new, second)):
        roles = _by_role(t, node, epoch)
        # per answer: owner and treasury floored at their bps, the node takes the remainder
        assert roles[OWNER] == sum(p * split.owner_bps // BPS for p in prices)
        assert roles[TREASURY] == sum(p * split.treasury_bps // BPS for p in prices)
        assert roles[VALIDATORS] == sum(p * split.validators_bps // BPS for p in prices)
        assert sum(roles.values()) == sum(prices)
        assert roles[NODE] >= sum(p * split.node_bps // BPS for p in prices)

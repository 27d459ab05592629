"""Every cheater is caught whenever one of its lies is sampled, by the kind of fault it told,
and slashed; the honest node beside them is never flagged, and a challenger who accuses it
falsely loses its bond to it."""

from __future__ import annotations

import pytest
from court import EPOCH_LIES, HONEST

from tessera._chain.disputes import (
    ANSWER,
    ATTRIBUTION,
    DISMISSED,
    OBJECTIVE_KINDS,
    PAYOUTS,
    PROMPT,
    REPLAYED,
    SLASHED,
    UNAUTHORIZED,
    WITHHELD,
)
from tessera._node.byzantine import CAUGHT_AS, LIES
from tessera._validator.finding import proven

# the court (built by the first test) judges eight nodes: minutes alone, more beside other tests
pytestmark = pytest.mark.timeout(1800)

ANSWER_LIES = [lie for lie in LIES if lie not in EPOCH_LIES]
PAIR_LIES = ["replayed-authorization"]  # each receipt alone is honest: two make the lie
RECHECKED_LIES = [lie for lie in ANSWER_LIES if lie not in PAIR_LIES]
CHALLENGE_OF = {
    "answer": ANSWER,
    "prompt": PROMPT,
    "attribution": ATTRIBUTION,
    "authorization": UNAUTHORIZED,
    "payouts": PAYOUTS,
    "withheld": WITHHELD,
    "replayed": REPLAYED,
}


@pytest.mark.parametrize("lie", RECHECKED_LIES)
def test_the_recheck_proves_each_lie_of_its_kind_and_passes_the_liars_honest_answers(court, lie):
    rechecker, node = court.validators[0].rechecker, court.address(lie)
    told = court.nodes[lie].node.book.receipts
    receipts = court.receipts(lie)
    assert 0 < sum(r.id in told for r in receipts) < len(receipts)  # lies beside honest ones
    for receipt in receipts:
        faults = proven(rechecker.recheck(receipt, node))
        if receipt.id in told:
            assert faults, f"{lie}: {told[receipt.id]} was not found"
            assert faults[0].kind == CAUGHT_AS[lie], faults
        else:
            assert faults == [], faults


def test_a_replayed_receipt_rechecks_clean_alone_and_is_proven_beside_its_first(court):
    rechecker, node = court.validators[0].rechecker, court.address("replayed-authorization")
    told = court.nodes["replayed-authorization"].node.book.receipts
    receipts = court.receipts("replayed-authorization")
    again = [r for r in receipts if r.id in told]
    assert 0 < len(again) < len(receipts) - len(again)
    for receipt in again:
        first = next(r for r in receipts if r.id == receipt.id.removesuffix("-again"))
        assert first.authorization == receipt.authorization
        assert proven(rechecker.recheck(receipt, node)) == []  # honest, taken alone


def test_the_recheck_finds_nothing_wrong_with_the_honest_node(court):
    rechecker, node = court.validators[0].rechecker, court.address(HONEST)
    for receipt in court.receipts(HONEST):
        assert proven(rechecker.recheck(receipt, node)) == []


@pytest.mark.parametrize("lie", LIES)
def test_every_sampled_lie_is_challenged_with_its_kind_and_the_liar_slashed(court, lie):
    t, node = court.t, court.address(lie)
    challenges = court.challenges(lie)
    assert {c.kind for c in challenges} == {CHALLENGE_OF[CAUGHT_AS[lie]]}
    if lie in ANSWER_LIES:  # every receipt sampled: exactly the lies are challenged
        told = court.nodes[lie].node.book.receipts
        lied = {i for i, r in enumerate(court.receipts(lie)) if r.id in told}
        assert {c.index for c in challenges} == lied
    else:  # one challenge of the epoch: its payouts, or a receipt nobody could fetch
        assert len(challenges) == 1 and court.nodes[lie].node.book.epochs.keys() == {0}
    if lie == "skewed-payouts":  # proven by the payout prover at the first wrong step
        told = court.nodes[lie].node.book.receipts
        first = min(i for i, r in enumerate(court.receipts(lie)) if r.id in told)
        [challenge] = challenges
        assert challenge.kind in OBJECTIVE_KINDS and challenge.index == first
        assert challenge.challenger in {court.address(v) for v in ("v1", "v2")}
    assert [c.status for c in challenges] == [SLASHED] * len(challenges)
    assert t.staking.slashed(node) > 0
    assert t.settlement.is_voided(node, 0)


def test_the_honest_node_is_only_accused_falsely_and_that_costs_the_accuser_its_bond(court):
    t = court.t
    [challenge] = court.challenges(HONEST)
    assert challenge.id == court.false_challenge
    assert (challenge.challenger, challenge.status) == (court.address("mallory"), DISMISSED)
    assert t.staking.slashed(court.address(HONEST)) == 0
    assert not t.settlement.is_voided(court.address(HONEST), 0)
    (mallory_before, mallory_after), (node_before, node_after) = (
        court.tokens["mallory"],
        court.tokens[HONEST],
    )
    assert mallory_after == mallory_before - challenge.bond
    assert node_after == node_before + challenge.bond
    assert challenge.bond == t.disputes.params().min_bond
    assert court.honest_claimed > 0  # checked, acquitted, and paid after its window

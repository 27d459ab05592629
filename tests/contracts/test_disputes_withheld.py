"""disputes.vy, withheld receipts: a node asked on chain for a receipt produces it within the
response period (the bond is its) or is slashed; claims wait while the question is open; every
bad input reverts with its exact reason and changes nothing."""

from __future__ import annotations

import pytest
from chain_helpers import events
from dispute_world import (
    ANSWER,
    ANSWERED,
    CHALLENGE,
    HONEST,
    NODE_STAKE,
    OPEN,
    PARAMS,
    SLASHED,
    WITHHELD,
)
from eth_utils import keccak

SLASH = NODE_STAKE * PARAMS.slash_bps // 10_000
TO_CHALLENGER = SLASH * PARAMS.challenger_share_bps // 10_000
ASKED = 2  # the receipt the challenger asks for


def ask(dw, index: int = ASKED, *, sender=None, epoch: int = 0):
    fn = dw.disputes.functions.challenge_withheld(dw.node.address, epoch, index)
    return fn.transact({"from": (sender or dw.challenger).address})


def produce(dw, cid: int, index: int = ASKED, *, body: bytes | None = None, sender=None, **lie):
    body = dw.receipts[index].body_bytes() if body is None else body
    fn = dw.disputes.functions.produce(cid, dw.evidence(index, **lie), body)
    return fn.transact({"from": (sender or dw.node).address})


def state(dw) -> tuple:
    parties = [dw.challenger.address, dw.node.address, dw.treasury]
    s = dw.settlement.functions
    return (
        [dw.balance(a) for a in [*parties, dw.disputes.address, dw.staking.address]],
        dw.node_stake(),
        dw.last_id(),
        s.frozen(dw.node.address).call(),
        s.voided_from(dw.node.address).call(),
        [dw.challenge(i)[8] for i in range(1, dw.last_id() + 1)],
    )


def claim_node_payout(dw):
    node = dw.node.address
    return dw.settlement.functions.claim(node, 0, dw.payouts[node], dw.payout_proof(node)).transact(
        {"from": node}
    )


# asking -------------------------------------------------------------------------------------


def test_asking_holds_the_bond_and_freezes_the_node(dw):
    before = dw.balance(dw.challenger.address)
    tx = ask(dw)
    cid = dw.last_id()
    opened_at = dw.w3.eth.get_block(dw.w3.eth.get_transaction_receipt(tx)["blockNumber"]).timestamp
    assert dw.challenge(cid) == (
        dw.node.address,
        0,
        ASKED,
        WITHHELD,
        dw.challenger.address,
        PARAMS.min_bond,
        opened_at,
        opened_at + PARAMS.response_period,
        OPEN,
        0,
    )
    assert before - dw.balance(dw.challenger.address) == PARAMS.min_bond
    assert dw.disputes.functions.bonds_held().call() == PARAMS.min_bond
    assert dw.settlement.functions.frozen(dw.node.address).call() == 1
    (opened,) = events(dw.disputes, "ChallengeOpened", tx)
    assert (opened.args.id, opened.args.kind, opened.args.index) == (cid, WITHHELD, ASKED)


def test_claims_wait_for_the_answer(dw, reverts):
    dw.at(dw.posted_at + CHALLENGE - 1)  # asked at the window's last second
    ask(dw)
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("settlement: claims frozen by a challenge"):
        claim_node_payout(dw)
    produce(dw, dw.last_id())
    claim_node_payout(dw)
    assert dw.settlement.functions.claimed(dw.node.address, dw.node.address).call() > 0


# answered -----------------------------------------------------------------------------------


@pytest.mark.parametrize("producer", ["node", "stranger"])
def test_a_produced_receipt_answers_and_pays_the_bond_to_the_node(dw, producer):
    ask(dw)
    cid = dw.last_id()
    node_before = dw.balance(dw.node.address)
    sender = dw.node if producer == "node" else dw.stranger  # what matters is the body
    tx = produce(dw, cid, sender=sender)
    assert dw.challenge(cid)[8] == ANSWERED
    assert dw.balance(dw.node.address) - node_before == PARAMS.min_bond
    assert dw.disputes.functions.bonds_held().call() == 0
    assert dw.settlement.functions.frozen(dw.node.address).call() == 0
    assert dw.node_stake() == NODE_STAKE
    (produced,) = events(dw.disputes, "ReceiptProduced", tx)
    assert (produced.args.id, produced.args.body) == (cid, dw.receipts[ASKED].body_bytes())
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert dict(resolved.args) == {"id": cid, "status": ANSWERED, "slashed": 0}


def test_the_last_second_of_the_response_period_still_answers(dw):
    ask(dw)
    cid = dw.last_id()
    dw.at(dw.challenge(cid)[7] - 1)
    produce(dw, cid)
    assert dw.challenge(cid)[8] == ANSWERED


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        pytest.param({"index": HONEST}, "disputes: not the challenged receipt", id="other-index"),
        pytest.param({"body": b"{}"}, "disputes: body does not match", id="other-body"),
        pytest.param({"price": 1}, "disputes: invalid receipt proof", id="changed-field"),
        pytest.param({"proof": []}, "disputes: invalid receipt proof", id="no-proof"),
    ],
)
def test_a_wrong_answer_is_refused(dw, reverts, lie, reason):
    ask(dw)
    cid = dw.last_id()
    before = state(dw)
    with reverts(reason):
        if "index" in lie:
            produce(dw, cid, HONEST)  # a real receipt, but not the one asked for
        else:
            produce(dw, cid, **lie)
    assert state(dw) == before


def test_a_body_that_matches_a_lie_about_its_hash_is_refused(dw, reverts):
    ask(dw)
    body = b'{"made":"up"}'
    with reverts("disputes: invalid receipt proof"):
        produce(dw, dw.last_id(), body=body, body_hash=keccak(body))


def test_answering_after_the_period_is_refused(dw, reverts):
    ask(dw)
    cid = dw.last_id()
    dw.at(dw.challenge(cid)[7])
    before = state(dw)
    with reverts("disputes: response period over"):
        produce(dw, cid)
    assert state(dw) == before


def test_answering_an_unknown_answered_or_other_challenge_is_refused(dw, reverts):
    with reverts("disputes: unknown challenge"):
        produce(dw, 1)
    ask(dw)
    produce(dw, 1)
    with reverts("disputes: already resolved"):
        produce(dw, 1)
    fn = dw.disputes.functions.challenge_receipt(
        dw.node.address, 0, ANSWER, dw.evidence(HONEST), 0, b""
    )
    fn.transact({"from": dw.challenger.address})
    with reverts("disputes: not a withheld-receipt challenge"):
        produce(dw, 2, HONEST)


# not answered -------------------------------------------------------------------------------


def test_an_unanswered_question_slashes_after_the_period(dw, reverts):
    ask(dw)
    cid = dw.last_id()
    deadline = dw.challenge(cid)[7]
    dw.at(deadline - 1)
    with reverts("disputes: response period open"):
        dw.disputes.functions.resolve(cid).transact({"from": dw.stranger.address})
    challenger_before, treasury_before = dw.balance(dw.challenger.address), dw.balance(dw.treasury)
    dw.at(deadline)
    tx = dw.disputes.functions.resolve(cid).transact({"from": dw.stranger.address})
    assert dw.challenge(cid)[8] == SLASHED
    # its share of the slash, and its bond back
    gained = dw.balance(dw.challenger.address) - challenger_before
    assert gained == TO_CHALLENGER + PARAMS.min_bond
    assert dw.balance(dw.treasury) - treasury_before == SLASH - TO_CHALLENGER
    assert dw.settlement.functions.is_voided(dw.node.address, 0).call()
    assert dw.settlement.functions.frozen(dw.node.address).call() == 0
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert dict(resolved.args) == {"id": cid, "status": SLASHED, "slashed": SLASH}
    with reverts("disputes: already resolved"):
        dw.disputes.functions.resolve(cid).transact({"from": dw.stranger.address})
    with reverts("disputes: already resolved"):
        produce(dw, cid)


def test_resolving_an_unknown_challenge_is_refused(dw, reverts):
    for cid in (0, 1):
        with reverts("disputes: unknown challenge"):
            dw.disputes.functions.resolve(cid).transact({"from": dw.stranger.address})


# bad input ----------------------------------------------------------------------------------


def test_asking_is_refused_outside_the_epoch_and_its_window(dw, reverts):
    before = state(dw)
    with reverts("disputes: unknown epoch"):
        ask(dw, epoch=1)
    with reverts("disputes: unknown receipt"):
        ask(dw, len(dw.receipts))
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("disputes: challenge window closed"):
        ask(dw)
    assert state(dw) == before


def test_asking_twice_for_one_receipt_is_refused(dw, reverts):
    ask(dw)
    before = state(dw)
    with reverts("disputes: receipt already challenged"):
        ask(dw)
    with reverts("disputes: receipt already challenged"):
        ask(dw, sender=dw.validators[0])  # by anyone
    assert state(dw) == before
    ask(dw, ASKED + 1)  # another receipt may be asked for


def test_asking_without_a_bond_is_refused(dw, reverts):
    before = state(dw)
    with reverts("disputes: bond too small"):
        ask(dw, sender=dw.stranger)
    assert state(dw) == before

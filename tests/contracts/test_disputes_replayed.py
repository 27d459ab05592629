"""disputes.vy, a client authorization billed twice: two receipts a node signed and posted that
spend one client's one nonce are proven in the same transaction, in one epoch or across two, in
either spelling of the client's signature; receipts that are not a replay cannot be slashed,
and every bad input reverts with its exact reason, changing nothing."""

from __future__ import annotations

import pytest
from chain_helpers import events
from dispute_world import (
    CHALLENGE,
    FORGED,
    FREE,
    HONEST,
    NODE_STAKE,
    PARAMS,
    REPLAY,
    REPLAY_COMPACT,
    REPLAYED,
    SLASHED,
    UNAPPROVED_MODEL,
)
from eth_utils import to_bytes
from test_disputes_receipts import state

SLASH = NODE_STAKE * PARAMS.slash_bps // 10_000
TO_CHALLENGER = SLASH * PARAMS.challenger_share_bps // 10_000


def signature_of(receipt) -> bytes:
    return to_bytes(hexstr=receipt.authorization.signature) if receipt.authorization else b""


def replayed(dw, later: int, earlier: int, *, epoch=0, earlier_epoch=0, nonce=None, **lie):
    """Claims receipt `later` of `epoch` re-bills `earlier` of `earlier_epoch`; the tx."""
    first, second = dw.receipts[earlier], dw.receipts[later]
    if nonce is None:
        nonce = first.authorization.nonce if first.authorization else 0
    fn = dw.disputes.functions.challenge_replayed(
        dw.node.address,
        epoch,
        dw.evidence(later, **lie.get("later_lie", {})),
        earlier_epoch,
        dw.evidence(earlier, **lie.get("earlier_lie", {})),
        nonce,
        lie.get("later_signature", signature_of(second)),
        lie.get("earlier_signature", signature_of(first)),
    )
    return fn.transact({"from": lie.get("sender", dw.challenger).address})


@pytest.mark.parametrize("later", [REPLAY, REPLAY_COMPACT], ids=["as-signed", "eip-2098"])
def test_one_authorization_billed_twice_in_an_epoch_slashes_at_once(dw, later):
    before, treasury = dw.balance(dw.challenger.address), dw.balance(dw.treasury)
    tx = replayed(dw, later, HONEST)
    (opened,) = events(dw.disputes, "ChallengeOpened", tx)
    assert (opened.args.index, opened.args.kind) == (later, REPLAYED)
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert (resolved.args.status, resolved.args.slashed) == (SLASHED, SLASH)
    assert dw.node_stake() == NODE_STAKE - SLASH
    assert dw.balance(dw.challenger.address) == before + TO_CHALLENGER
    assert dw.balance(dw.treasury) == treasury + SLASH - TO_CHALLENGER
    assert dw.settlement.functions.voided_from(dw.node.address).call() == 1  # epoch 0 and on
    # decided in its transaction: it never froze the node, and holds no bond
    assert not dw.settlement.functions.frozen(dw.node.address).call()
    assert dw.disputes.functions.bonds_held().call() == 0


def test_a_replay_in_a_later_epoch_voids_that_epoch_only(dw):
    dw.post_next_epoch()  # epoch 1 posts epoch 0's receipts again: each one re-bills itself
    replayed(dw, HONEST, HONEST, epoch=1, earlier_epoch=0)
    assert dw.settlement.functions.voided_from(dw.node.address).call() == 2  # from epoch 1
    assert dw.node_stake() == NODE_STAKE - SLASH


@pytest.mark.parametrize(
    ("later", "earlier", "reason"),
    [
        pytest.param(HONEST, HONEST, "disputes: not an earlier receipt", id="itself"),
        pytest.param(HONEST, REPLAY, "disputes: not an earlier receipt", id="wrong-order"),
        pytest.param(
            UNAPPROVED_MODEL, HONEST, "disputes: not one authorization", id="another-client"
        ),
        pytest.param(FREE, HONEST, "disputes: not one authorization", id="no-authorization"),
        pytest.param(FORGED, HONEST, "disputes: receipt signature is invalid", id="not-signed"),
    ],
)
def test_receipts_that_are_not_a_replay_cannot_be_slashed(dw, reverts, later, earlier, reason):
    before = state(dw)
    with reverts(reason):
        replayed(dw, later, earlier)
    assert state(dw) == before


def test_the_client_must_have_signed_both(dw, reverts):
    """A nonce and signature that hash to the receipt's commitment, yet sign nothing of it."""
    with reverts("disputes: authorization does not match the receipt"):
        replayed(dw, REPLAY, HONEST, nonce=dw.receipts[HONEST].authorization.nonce + 1)


@pytest.mark.parametrize(
    "lie",
    [
        {"later_lie": {"price": 11}},
        {"earlier_lie": {"proof": []}},
        {"earlier_lie": {"index": REPLAY}},
    ],
    ids=["later-changed", "earlier-proof", "earlier-moved"],
)
def test_a_wrong_proof_is_refused(dw, reverts, lie):
    before = state(dw)
    with reverts("disputes: invalid receipt proof"):
        replayed(dw, REPLAY_COMPACT, HONEST, **lie)
    assert state(dw) == before


def test_the_window_is_the_later_epochs(dw, reverts):
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("disputes: challenge window closed"):
        replayed(dw, REPLAY, HONEST)


def test_unknown_epochs_and_receipts_are_refused(dw, reverts):
    with reverts("disputes: unknown epoch"):
        replayed(dw, REPLAY, HONEST, epoch=1)
    with reverts("disputes: unknown epoch"):
        replayed(dw, REPLAY, HONEST, earlier_epoch=1)
    count = len(dw.receipts)
    with reverts("disputes: unknown receipt"):
        replayed(dw, REPLAY, HONEST, later_lie={"index": count})
    with reverts("disputes: unknown receipt"):
        replayed(dw, REPLAY, HONEST, earlier_lie={"index": count})


def test_a_replay_is_proven_once(dw, reverts):
    replayed(dw, REPLAY, HONEST)
    with reverts("disputes: receipt already challenged"):
        replayed(dw, REPLAY, HONEST)


def test_a_challenger_without_bond_is_refused(dw, reverts):
    dw.token.functions.approve(dw.disputes.address, 0).transact({"from": dw.challenger.address})
    before = state(dw)
    with reverts("disputes: bond too small"):
        replayed(dw, REPLAY, HONEST)
    assert state(dw) == before

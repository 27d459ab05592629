"""disputes.vy, committee challenges: members drawn by stake without replacement (never the node
or the challenger), commit then reveal, a supermajority of stake slashes (split between the
challenger and the treasury, the epoch voided and refunded), else the bond goes to the node and
claims resume; members against the outcome or silent lose a share of their rewards. Every phase
transition is tested positive and negative with its exact reason."""

from __future__ import annotations

import pytest
from chain_helpers import events
from dispute_world import (
    ANSWER,
    ATTRIBUTION,
    CHALLENGE,
    DISMISSED,
    HONEST,
    NODE_STAKE,
    OPEN,
    PARAMS,
    PRICE,
    PROMPT,
    SLASHED,
    VALIDATOR_STAKES,
    commitment,
)
from eth_abi import encode
from eth_utils import keccak

SLASH = NODE_STAKE * PARAMS.slash_bps // 10_000
TO_CHALLENGER = SLASH * PARAMS.challenger_share_bps // 10_000


def salt(voter: str) -> bytes:
    return keccak(text=f"salt {voter}")


def open_answer(dw, *, kind: int = ANSWER, sender=None, index: int = HONEST, epoch: int = 0) -> int:
    fn = dw.disputes.functions.challenge_receipt(
        dw.node.address, epoch, kind, dw.evidence(index), 0, b""
    )
    fn.transact({"from": (sender or dw.challenger).address})
    return dw.last_id()


def members(dw, cid: int) -> list:
    """The committee's accounts, in draw order."""
    by_address = {v.address: v for v in dw.validators}
    return [by_address[a] for a in dw.disputes.functions.committee(cid).call()]


def stake(dw, voter) -> int:
    return VALIDATOR_STAKES[dw.validators.index(voter)]


def commit(dw, cid: int, voter, guilty: bool, *, salted: bytes | None = None):
    value = commitment(cid, guilty, salted or salt(voter.address), voter.address)
    return dw.disputes.functions.commit_vote(cid, value).transact({"from": voter.address})


def reveal(dw, cid: int, voter, guilty: bool, *, salted: bytes | None = None):
    fn = dw.disputes.functions.reveal_vote(cid, guilty, salted or salt(voter.address))
    return fn.transact({"from": voter.address})


def vote(dw, cid: int, votes: dict) -> None:
    """Every member in `votes` commits, then reveals (None: commits and stays silent)."""
    for voter, guilty in votes.items():
        commit(dw, cid, voter, bool(guilty))
    dw.at(dw.challenge(cid)[9])
    for voter, guilty in votes.items():
        if guilty is not None:
            reveal(dw, cid, voter, guilty)


def resolve(dw, cid: int, sender=None):
    dw.at(dw.challenge(cid)[7])
    return dw.disputes.functions.resolve(cid).transact({"from": (sender or dw.stranger).address})


def with_rewards(dw) -> tuple[int, list[int]]:
    """Collects epoch 0's pool leaf (the validators' rewards), then the node posts epoch 1 to
    be challenged; returns epoch 1's post time and each validator's rewards."""
    dw.at(dw.posted_at + CHALLENGE)
    pool = dw.disputes.address
    dw.disputes.functions.collect(
        dw.node.address, 0, dw.payouts[pool], dw.payout_proof(pool)
    ).transact({"from": dw.stranger.address})
    posted_at = dw.post_next_epoch()
    rewards = [dw.disputes.functions.rewards(v.address).call() for v in dw.validators]
    assert all(rewards)
    return posted_at, rewards


# opening and the draw -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ANSWER, ATTRIBUTION, PROMPT, PRICE])
def test_a_committee_challenge_opens_with_a_bond_a_draw_and_a_freeze(dw, kind):
    before = dw.balance(dw.challenger.address)
    cid = open_answer(dw, kind=kind)
    record = dw.challenge(cid)
    opened_at = record[6]
    assert record == (
        dw.node.address,
        0,
        HONEST,
        kind,
        dw.challenger.address,
        PARAMS.min_bond,
        opened_at,
        opened_at + PARAMS.commit_period + PARAMS.reveal_period,
        OPEN,
        opened_at + PARAMS.commit_period,
    )
    drawn = dw.disputes.functions.committee(cid).call()
    assert len(drawn) == len(set(drawn)) == PARAMS.committee_size
    assert set(drawn) <= {v.address for v in dw.validators}
    assert before - dw.balance(dw.challenger.address) == PARAMS.min_bond
    assert dw.settlement.functions.frozen(dw.node.address).call() == 1


def test_a_price_challenge_names_one_receipt_once(dw, reverts):
    cid = open_answer(dw, kind=PRICE)
    assert dw.challenge(cid)[2:4] == (HONEST, PRICE)
    with reverts("disputes: receipt already challenged"):
        open_answer(dw, kind=PRICE)
    open_answer(dw, kind=ANSWER)  # the same receipt's answer is another question


def test_the_challenger_is_never_on_its_committee(dw):
    challenger = dw.validators[3]  # the largest stake
    for epoch_kind in (ANSWER, ATTRIBUTION, PROMPT):
        cid = open_answer(dw, kind=epoch_kind, sender=challenger)
        drawn = dw.disputes.functions.committee(cid).call()
        assert challenger.address not in drawn
        assert set(drawn) == {v.address for v in dw.validators[:3]}  # the other three


def test_a_committee_is_as_large_as_the_validators_allow(dw):
    dw.disputes.functions.set_params(
        PARAMS.__class__(**{**PARAMS.__dict__, "committee_size": 16}).as_abi()
    ).transact({"from": dw.owner})
    cid = open_answer(dw)
    assert sorted(dw.disputes.functions.committee(cid).call()) == sorted(
        v.address for v in dw.validators
    )


def expected_draw(dw, cid: int, block: int, excluded: set[str], size: int) -> list[str]:
    """The committee spec §4 draws: by stake without replacement, seeded by the hash of the
    block before the challenge's and its id, in the order of the active list."""
    seed = keccak(encode(["bytes32", "uint256"], [dw.w3.eth.get_block(block - 1).hash, cid]))
    active = dw.disputes.functions.validators().call(block_identifier=block - 1)
    pool = [[v, dw.disputes.functions.validator_stake(v).call()] for v in active]
    pool = [entry for entry in pool if entry[0] not in excluded]
    drawn = []
    for k in range(size):
        left = sum(weight for _, weight in pool)
        if left == 0:
            break
        point = int.from_bytes(keccak(encode(["bytes32", "uint256"], [seed, k])), "big") % left
        for entry in pool:
            if point < entry[1]:
                drawn.append(entry[0])
                entry[1] = 0
                break
            point -= entry[1]
    return drawn


@pytest.mark.parametrize("index", range(4))
def test_the_draw_is_the_specs_stake_weighted_draw(dw, index):
    sender = dw.validators[index]  # excluded with the node
    fn = dw.disputes.functions.challenge_receipt(
        dw.node.address, 0, ANSWER, dw.evidence(index), 0, b""
    )
    block = dw.w3.eth.get_transaction_receipt(fn.transact({"from": sender.address}))["blockNumber"]
    cid = dw.last_id()
    expected = expected_draw(dw, cid, block, {sender.address, dw.node.address}, 3)
    assert dw.disputes.functions.committee(cid).call() == expected


def test_no_committee_without_validators(dw, reverts):
    for validator in dw.validators:
        dw.disputes.functions.unstake_validator().transact({"from": validator.address})
    before = (dw.balance(dw.challenger.address), dw.last_id())
    with reverts("disputes: no committee available"):
        open_answer(dw)
    with reverts("disputes: no committee available"):
        open_answer(dw, kind=PRICE)
    assert (dw.balance(dw.challenger.address), dw.last_id()) == before


def test_no_committee_when_the_challenger_is_the_only_validator(dw, reverts):
    for validator in dw.validators[1:]:
        dw.disputes.functions.unstake_validator().transact({"from": validator.address})
    with reverts("disputes: no committee available"):
        open_answer(dw, sender=dw.validators[0])


def test_a_committee_challenge_is_refused_outside_the_window(dw, reverts):
    with reverts("disputes: unknown epoch"):
        open_answer(dw, kind=PRICE, epoch=1)
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("disputes: challenge window closed"):
        open_answer(dw, kind=PRICE)
    with reverts("disputes: challenge window closed"):
        open_answer(dw)
    assert dw.last_id() == 0


def test_a_committee_challenge_needs_a_bond(dw, reverts):
    with reverts("disputes: bond too small"):
        open_answer(dw, kind=PRICE, sender=dw.stranger)
    with reverts("disputes: bond too small"):
        open_answer(dw, sender=dw.stranger)
    assert dw.last_id() == 0


# commit phase -------------------------------------------------------------------------------


def test_members_commit_once_during_the_commit_phase(dw, reverts):
    cid = open_answer(dw)
    first, *_ = members(dw, cid)
    tx = commit(dw, cid, first, True)
    (committed,) = events(dw.disputes, "VoteCommitted", tx)
    assert (committed.args.id, committed.args.voter) == (cid, first.address)
    with reverts("disputes: already committed"):
        commit(dw, cid, first, False)


def test_only_members_commit(dw, reverts):
    cid = open_answer(dw)
    outsider = next(v for v in dw.validators if v not in members(dw, cid))
    for voter in (outsider, dw.stranger, dw.challenger, dw.node):
        with reverts("disputes: not a committee member"):
            commit(dw, cid, voter, True)


def test_an_empty_commitment_is_refused(dw, reverts):
    cid = open_answer(dw)
    first = members(dw, cid)[0]
    with reverts("disputes: empty commitment"):
        dw.disputes.functions.commit_vote(cid, b"\x00" * 32).transact({"from": first.address})


def test_commits_stop_when_the_commit_phase_ends(dw, reverts):
    cid = open_answer(dw)
    first, second, _ = members(dw, cid)
    dw.at(dw.challenge(cid)[9] - 1)
    commit(dw, cid, first, True)  # its last second
    dw.at(dw.challenge(cid)[9])
    with reverts("disputes: not in commit phase"):
        commit(dw, cid, second, True)


def test_commits_are_refused_for_unknown_and_non_committee_challenges(dw, reverts):
    voter = dw.validators[0]
    with reverts("disputes: unknown challenge"):
        commit(dw, 1, voter, True)
    fn = dw.disputes.functions.challenge_withheld(dw.node.address, 0, 0)
    fn.transact({"from": dw.challenger.address})
    with reverts("disputes: not in commit phase"):
        commit(dw, 1, voter, True)


# reveal phase -------------------------------------------------------------------------------


def test_a_reveal_must_wait_for_the_reveal_phase(dw, reverts):
    cid = open_answer(dw)
    first = members(dw, cid)[0]
    commit(dw, cid, first, True)
    with reverts("disputes: not in reveal phase"):
        reveal(dw, cid, first, True)
    dw.at(dw.challenge(cid)[9])
    tx = reveal(dw, cid, first, True)
    (revealed,) = events(dw.disputes, "VoteRevealed", tx)
    assert dict(revealed.args) == {"id": cid, "voter": first.address, "guilty": True}


def test_a_reveal_after_the_reveal_phase_is_refused(dw, reverts):
    cid = open_answer(dw)
    first = members(dw, cid)[0]
    commit(dw, cid, first, True)
    dw.at(dw.challenge(cid)[7])
    with reverts("disputes: not in reveal phase"):
        reveal(dw, cid, first, True)


@pytest.mark.parametrize("lie", ["vote", "salt", "voter"])
def test_a_reveal_that_does_not_match_its_commit_is_refused(dw, reverts, lie):
    cid = open_answer(dw)
    first, second, _ = members(dw, cid)
    commit(dw, cid, first, True)
    if lie == "voter":  # a member reveals another's commitment as its own
        value = commitment(cid, True, salt(first.address), first.address)
        dw.disputes.functions.commit_vote(cid, keccak(value)).transact({"from": second.address})
    dw.at(dw.challenge(cid)[9])
    with reverts("disputes: reveal does not match commit"):
        if lie == "vote":
            reveal(dw, cid, first, False)
        elif lie == "salt":
            reveal(dw, cid, first, True, salted=b"\x05" * 32)
        else:
            reveal(dw, cid, second, True, salted=salt(first.address))
    reveal(dw, cid, first, True)  # the true reveal still counts


def test_a_member_that_never_committed_cannot_reveal(dw, reverts):
    cid = open_answer(dw)
    first = members(dw, cid)[0]
    dw.at(dw.challenge(cid)[9])
    with reverts("disputes: reveal does not match commit"):
        reveal(dw, cid, first, True)


def test_only_members_reveal_and_only_once(dw, reverts):
    cid = open_answer(dw)
    first = members(dw, cid)[0]
    outsider = next(v for v in dw.validators if v not in members(dw, cid))
    commit(dw, cid, first, True)
    dw.at(dw.challenge(cid)[9])
    with reverts("disputes: not a committee member"):
        reveal(dw, cid, outsider, True)
    reveal(dw, cid, first, True)
    with reverts("disputes: already revealed"):
        reveal(dw, cid, first, True)


def test_reveals_are_refused_for_unknown_and_non_committee_challenges(dw, reverts):
    voter = dw.validators[0]
    with reverts("disputes: unknown challenge"):
        reveal(dw, 1, voter, True)
    fn = dw.disputes.functions.challenge_withheld(dw.node.address, 0, 0)
    fn.transact({"from": dw.challenger.address})
    with reverts("disputes: not in reveal phase"):
        reveal(dw, 1, voter, True)


# resolution ---------------------------------------------------------------------------------


def test_resolve_waits_for_the_end_of_the_vote(dw, reverts):
    cid = open_answer(dw)
    dw.at(dw.challenge(cid)[7] - 1)
    with reverts("disputes: voting not over"):
        dw.disputes.functions.resolve(cid).transact({"from": dw.stranger.address})
    resolve(dw, cid)
    with reverts("disputes: already resolved"):
        resolve(dw, cid)


def test_a_guilty_supermajority_slashes_voids_and_refunds(dw, reverts):
    cid = open_answer(dw)
    vote(dw, cid, dict.fromkeys(members(dw, cid), True))
    before = {a: dw.balance(a) for a in (dw.challenger.address, dw.treasury, dw.node.address)}
    tx = resolve(dw, cid)
    assert dw.challenge(cid)[8] == SLASHED
    assert dw.node_stake() == NODE_STAKE - SLASH
    assert dw.balance(dw.challenger.address) - before[dw.challenger.address] == (
        TO_CHALLENGER + PARAMS.min_bond
    )
    assert dw.balance(dw.treasury) - before[dw.treasury] == SLASH - TO_CHALLENGER
    assert dw.balance(dw.node.address) == before[dw.node.address]
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert dict(resolved.args) == {"id": cid, "status": SLASHED, "slashed": SLASH}
    s = dw.settlement.functions
    assert s.is_voided(dw.node.address, 0).call() and s.frozen(dw.node.address).call() == 0
    dw.at(dw.posted_at + CHALLENGE)
    node = dw.node.address
    with reverts("settlement: epoch voided"):
        s.claim(node, 0, dw.payouts[node], dw.payout_proof(node)).transact({"from": node})
    clients_before = [dw.balance(c.address) for c in dw.clients]
    s.refund(node, 0, dw.refunds).transact({"from": dw.stranger.address})
    refunded = [dw.balance(c.address) - b for c, b in zip(dw.clients, clients_before, strict=True)]
    assert refunded == [amount for _, amount in dw.refunds]


def test_a_vote_short_of_the_supermajority_dismisses_and_pays_the_node(dw, reverts):
    cid = open_answer(dw)
    drawn = members(dw, cid)
    vote(dw, cid, {v: i == 0 for i, v in enumerate(drawn)})  # one of three says guilty
    assert stake(dw, drawn[0]) * 10_000 < PARAMS.supermajority_bps * sum(
        stake(dw, v) for v in drawn
    )
    node = dw.node.address
    before = (dw.balance(node), dw.balance(dw.challenger.address))
    tx = resolve(dw, cid)
    assert dw.challenge(cid)[8] == DISMISSED
    assert dw.balance(node) - before[0] == PARAMS.min_bond
    assert dw.balance(dw.challenger.address) == before[1]  # the bond is lost
    assert dw.node_stake() == NODE_STAKE
    (resolved,) = events(dw.disputes, "ChallengeResolved", tx)
    assert dict(resolved.args) == {"id": cid, "status": DISMISSED, "slashed": 0}
    s = dw.settlement.functions
    assert s.frozen(node).call() == 0 and not s.is_voided(node, 0).call()
    dw.at(dw.posted_at + CHALLENGE)  # claims resume once the window is over
    s.claim(node, 0, dw.payouts[node], dw.payout_proof(node)).transact({"from": node})
    assert s.claimed(node, node).call() == dw.payouts[node]


def test_claims_stay_frozen_until_the_vote_is_resolved(dw, reverts):
    dw.at(dw.posted_at + CHALLENGE - 1)
    cid = open_answer(dw)
    node = dw.node.address
    claim = dw.settlement.functions.claim(node, 0, dw.payouts[node], dw.payout_proof(node))
    dw.at(dw.posted_at + CHALLENGE)
    with reverts("settlement: claims frozen by a challenge"):
        claim.transact({"from": node})
    resolve(dw, cid)  # nobody voted: dismissed
    claim.transact({"from": node})


def test_silence_counts_against_the_fault(dw):
    cid = open_answer(dw)
    drawn = members(dw, cid)
    vote(dw, cid, {drawn[0]: True, drawn[1]: None, drawn[2]: None})
    resolve(dw, cid)
    assert dw.challenge(cid)[8] == DISMISSED


@pytest.mark.parametrize("shift", [0, 1])
def test_the_supermajority_is_a_threshold_of_stake(dw, shift):
    """Guilty stake exactly at the threshold slashes; one basis point more dismisses."""
    cid = open_answer(dw)
    drawn = members(dw, cid)
    guilty = sorted(drawn, key=lambda v: stake(dw, v))[1:]  # the two largest: above half
    guilty_stake, total = sum(stake(dw, v) for v in guilty), sum(stake(dw, v) for v in drawn)
    threshold = guilty_stake * 10_000 // total + shift
    dw.disputes.functions.set_params(
        PARAMS.__class__(**{**PARAMS.__dict__, "supermajority_bps": threshold}).as_abi()
    ).transact({"from": dw.owner})
    vote(dw, cid, {v: v in guilty for v in drawn})
    resolve(dw, cid)
    slashes = guilty_stake * 10_000 >= total * threshold
    assert slashes == (shift == 0 or (guilty_stake * 10_000 % total == 0 and shift == 0))
    assert dw.challenge(cid)[8] == (SLASHED if slashes else DISMISSED)


# the dissent penalty ------------------------------------------------------------------------


def test_members_against_the_outcome_or_silent_lose_a_share_of_their_rewards(dw):
    _, rewards = with_rewards(dw)
    cid = open_answer(dw, epoch=1)
    drawn = members(dw, cid)
    smallest = min(drawn, key=lambda v: stake(dw, v))
    votes = {v: v is not smallest for v in drawn}  # the smallest stake dissents
    vote(dw, cid, votes)
    treasury_before = dw.balance(dw.treasury)
    tx = resolve(dw, cid)
    assert dw.challenge(cid)[8] == SLASHED
    after = [dw.disputes.functions.rewards(v.address).call() for v in dw.validators]
    penalty = rewards[dw.validators.index(smallest)] * PARAMS.dissent_penalty_bps // 10_000
    expected = list(rewards)
    expected[dw.validators.index(smallest)] -= penalty
    assert after == expected
    assert dw.balance(dw.treasury) - treasury_before == SLASH - TO_CHALLENGER + penalty
    logged = [(e.args.voter, e.args.amount) for e in events(dw.disputes, "DissentPenalized", tx)]
    assert logged == [(smallest.address, penalty)]


def test_a_dismissal_penalizes_the_guilty_votes_and_the_silent(dw):
    _, rewards = with_rewards(dw)
    cid = open_answer(dw, epoch=1)
    first, second, third = members(dw, cid)
    vote(dw, cid, {first: True, second: False, third: None})
    resolve(dw, cid)
    assert dw.challenge(cid)[8] == DISMISSED
    after = {v: dw.disputes.functions.rewards(v.address).call() for v in dw.validators}
    for v in (first, third):
        before = rewards[dw.validators.index(v)]
        assert after[v] == before - before * PARAMS.dissent_penalty_bps // 10_000
    assert after[second] == rewards[dw.validators.index(second)]

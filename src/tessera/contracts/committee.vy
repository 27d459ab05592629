# pragma version ~=0.4.3
"""
@title Tessera dispute committees
@custom:contract-name committee
@license Apache-2.0
@notice A challenge that needs re-execution is judged by validators
        drawn by stake without replacement, who commit to a vote and
        reveal it later, so that nobody can copy another's vote. Each
        member's weight is its stake when it was drawn.
@dev A module: `disputes.vy` initializes it and keeps the phases' clock;
     this module keeps members, commitments and the tally.
"""

import validator_set

uses: validator_set


_BPS: constant(uint256) = 10_000
MAX_COMMITTEE: constant(uint256) = 16


struct Ballot:
    weight: uint256  # stake when drawn; 0: not a member
    commitment: bytes32
    revealed: bool
    guilty: bool


struct Tally:
    total: uint256  # the committee's stake
    guilty: uint256  # revealed stake voting guilty


_members: HashMap[uint256, DynArray[address, MAX_COMMITTEE]]
_ballots: HashMap[uint256, HashMap[address, Ballot]]
_tallies: HashMap[uint256, Tally]


event VoteCommitted:
    id: indexed(uint256)
    voter: indexed(address)


event VoteRevealed:
    id: indexed(uint256)
    voter: indexed(address)
    guilty: bool


@external
@view
def committee(id: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """
    @notice The members drawn for a challenge, in draw order.
    @param id The challenge.
    @return DynArray Their addresses (empty for a challenge without one).
    """
    return self._members[id]


@internal
def _draw(id: uint256, size: uint256, node: address, challenger: address):
    """
    @dev Draws up to `size` active validators other than the node and the
         challenger, each with probability in proportion to its stake
         among those not drawn yet; the seed is the previous block's hash.
    """
    seed: bytes32 = keccak256(abi_encode(blockhash(block.number - 1), id))
    candidates: DynArray[address, validator_set.MAX_VALIDATORS] = []
    weights: DynArray[uint256, validator_set.MAX_VALIDATORS] = []
    left: uint256 = 0
    for validator: address in validator_set._active:
        if validator != node and validator != challenger:
            stake: uint256 = validator_set._stake_of(validator)
            candidates.append(validator)
            weights.append(stake)
            left += stake
    assert left != 0, "disputes: no committee available"

    members: DynArray[address, MAX_COMMITTEE] = []
    total: uint256 = 0
    for k: uint256 in range(MAX_COMMITTEE):
        if k == size or left == 0:
            break
        point: uint256 = convert(keccak256(abi_encode(seed, k)), uint256) % left
        picked: uint256 = 0
        for i: uint256 in range(len(candidates), bound=validator_set.MAX_VALIDATORS):
            if point < weights[i]:
                picked = i
                break
            point -= weights[i]
        weight: uint256 = weights[picked]
        members.append(candidates[picked])
        self._ballots[id][candidates[picked]].weight = weight
        weights[picked] = 0  # without replacement
        left -= weight
        total += weight
    self._members[id] = members
    self._tallies[id].total = total


@internal
def _commit(id: uint256, voter: address, commitment: bytes32):
    """
    @dev Records a member's hidden vote, once.
    """
    ballot: Ballot = self._ballots[id][voter]
    assert ballot.weight != 0, "disputes: not a committee member"
    assert ballot.commitment == empty(bytes32), "disputes: already committed"
    assert commitment != empty(bytes32), "disputes: empty commitment"
    self._ballots[id][voter].commitment = commitment
    log VoteCommitted(id=id, voter=voter)


@internal
def _reveal(id: uint256, voter: address, guilty: bool, salt: bytes32):
    """
    @dev Opens a member's commitment and counts its weight.
    """
    ballot: Ballot = self._ballots[id][voter]
    assert ballot.weight != 0, "disputes: not a committee member"
    assert not ballot.revealed, "disputes: already revealed"
    assert keccak256(abi_encode(id, guilty, salt, voter)) == ballot.commitment, (
        "disputes: reveal does not match commit"
    )
    self._ballots[id][voter].revealed = True
    self._ballots[id][voter].guilty = guilty
    if guilty:
        self._tallies[id].guilty += ballot.weight
    log VoteRevealed(id=id, voter=voter, guilty=guilty)


@internal
@view
def _is_guilty(id: uint256, supermajority_bps: uint256) -> bool:
    """
    @dev Whether the guilty stake reached the supermajority of the whole
         committee's stake (a member who did not reveal counts against).
    """
    tally: Tally = self._tallies[id]
    return tally.guilty * _BPS >= tally.total * supermajority_bps


@internal
@view
def _dissenters(id: uint256, guilty: bool) -> DynArray[address, MAX_COMMITTEE]:
    """
    @dev The members who voted against the outcome or did not reveal.
    """
    found: DynArray[address, MAX_COMMITTEE] = []
    for member: address in self._members[id]:
        ballot: Ballot = self._ballots[id][member]
        if not ballot.revealed or ballot.guilty != guilty:
            found.append(member)
    return found

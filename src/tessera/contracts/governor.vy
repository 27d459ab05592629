# pragma version ~=0.4.3
"""
@title Tessera governor
@custom:contract-name governor
@license Apache-2.0
@notice Token holders propose, vote on and run changes to Tessera's
        parameters, with the lifecycle of OpenZeppelin's Governor and
        Compound's Governor Bravo: a proposal is pending until its
        snapshot, active while delegates vote for, against or abstain with
        the power they held at the snapshot, then defeated or succeeded; a
        succeeded proposal is queued in the timelock, runs once the delay
        has passed, and expires if nobody runs it within the grace period.
        Its proposer may cancel it until it runs.
@dev The clock is the token's (EIP-6372 `mode=timestamp`): delays and
     periods are seconds. This contract is the timelock's only proposer,
     canceller and executor, and the timelock owns every governed
     contract, so a parameter changes only through a proposal that passed
     here. Quorum counts for and abstain votes (OpenZeppelin's simple
     counting); a proposal passes with more for than against votes.
     Proposals carry calls only, never ether.
"""

_BPS: constant(uint256) = 10_000
_MAX_ACTIONS: constant(uint256) = 10
_MAX_PAYLOAD: constant(uint256) = 1_024  # the timelock's bound
# bounds in the spirit of Bravo's: no setting can lock governance out of changing it back
_MAX_DELAY: constant(uint256) = 30 * 86_400  # voting delay and timelock delay
_MAX_VOTING_PERIOD: constant(uint256) = 30 * 86_400
_MAX_GRACE_PERIOD: constant(uint256) = 90 * 86_400
_MAX_QUORUM_BPS: constant(uint256) = 5_000  # more could be out of reach of the voting supply
_MAX_THRESHOLD_BPS: constant(uint256) = 100  # of the supply when set

# proposal states, numbered as OpenZeppelin's `ProposalState`
PENDING: public(constant(uint8)) = 0
ACTIVE: public(constant(uint8)) = 1
CANCELED: public(constant(uint8)) = 2
DEFEATED: public(constant(uint8)) = 3
SUCCEEDED: public(constant(uint8)) = 4
QUEUED: public(constant(uint8)) = 5
EXPIRED: public(constant(uint8)) = 6
EXECUTED: public(constant(uint8)) = 7

# vote types, as OpenZeppelin's `GovernorCountingSimple`
VOTE_AGAINST: public(constant(uint8)) = 0
VOTE_FOR: public(constant(uint8)) = 1
VOTE_ABSTAIN: public(constant(uint8)) = 2


interface IVotes:
    def get_past_votes(account: address, timepoint: uint256) -> uint256: view
    def get_past_total_supply(timepoint: uint256) -> uint256: view
    def totalSupply() -> uint256: view


interface ITimelock:
    def get_minimum_delay() -> uint256: view
    def schedule(
        target: address,
        amount: uint256,
        payload: Bytes[_MAX_PAYLOAD],
        predecessor: bytes32,
        salt: bytes32,
        delay: uint256,
    ): nonpayable
    def execute(
        target: address,
        amount: uint256,
        payload: Bytes[_MAX_PAYLOAD],
        predecessor: bytes32,
        salt: bytes32,
    ): payable
    def cancel(id: bytes32): nonpayable
    def hash_operation(
        target: address,
        amount: uint256,
        payload: Bytes[_MAX_PAYLOAD],
        predecessor: bytes32,
        salt: bytes32,
    ) -> bytes32: pure


token: public(immutable(IVotes))
timelock: public(immutable(ITimelock))


struct Proposal:
    proposer: address
    snapshot: uint256  # votes count as delegated at the end of this second
    deadline: uint256  # the last second of voting
    quorum_bps: uint256  # the quorum in force when it was proposed
    for_votes: uint256
    against_votes: uint256
    abstain_votes: uint256
    eta: uint256  # when the timelock lets it run; 0 until queued
    expires_at: uint256  # eta plus the grace period in force when queued
    cancelled: bool
    executed: bool


voting_delay: public(uint256)
voting_period: public(uint256)
proposal_threshold: public(uint256)
quorum_bps: public(uint256)
grace_period: public(uint256)
proposal_count: public(uint256)
proposals: public(HashMap[uint256, Proposal])
descriptions: public(HashMap[uint256, String[1_024]])
has_voted: public(HashMap[uint256, HashMap[address, bool]])
_targets: HashMap[uint256, DynArray[address, _MAX_ACTIONS]]
_payloads: HashMap[uint256, DynArray[Bytes[_MAX_PAYLOAD], _MAX_ACTIONS]]


event ProposalCreated:
    proposal_id: indexed(uint256)
    proposer: indexed(address)
    snapshot: uint256
    deadline: uint256
    description: String[1_024]


event VoteCast:
    voter: indexed(address)
    proposal_id: indexed(uint256)
    support: uint8
    weight: uint256
    reason: String[256]


event ProposalQueued:
    proposal_id: indexed(uint256)
    eta: uint256


event ProposalExecuted:
    proposal_id: indexed(uint256)


event ProposalCanceled:
    proposal_id: indexed(uint256)


event SettingChanged:
    setting: String[32]
    old_value: uint256
    new_value: uint256


@deploy
def __init__(
    token_: IVotes,
    timelock_: ITimelock,
    voting_delay_: uint256,
    voting_period_: uint256,
    proposal_threshold_: uint256,
    quorum_bps_: uint256,
    grace_period_: uint256,
):
    """
    @notice Binds the governor to the voting token and the timelock.
    @param token_ The token whose checkpointed votes count.
    @param timelock_ The timelock this governor proposes to and runs.
    @param voting_delay_ Seconds from proposal to snapshot.
    @param voting_period_ Seconds of voting after the snapshot.
    @param proposal_threshold_ Votes a proposer needs.
    @param quorum_bps_ For and abstain votes needed, in basis points of supply.
    @param grace_period_ Seconds a queued proposal stays runnable.
    """
    token = token_
    timelock = timelock_
    self._set_voting_delay(voting_delay_)
    self._set_voting_period(voting_period_)
    self._set_proposal_threshold(proposal_threshold_)
    self._set_quorum_bps(quorum_bps_)
    self._set_grace_period(grace_period_)


@external
def propose(
    targets: DynArray[address, _MAX_ACTIONS],
    payloads: DynArray[Bytes[_MAX_PAYLOAD], _MAX_ACTIONS],
    description: String[1_024],
) -> uint256:
    """
    @notice Proposes calls for the timelock to make, one per target.
    @param targets The contracts to call, in order.
    @param payloads The ABI-encoded call for each target.
    @param description What the proposal does and why.
    @return uint256 The new proposal's id, counting from 1.
    """
    assert len(targets) != 0, "governor: empty proposal"
    assert len(targets) == len(payloads), "governor: targets and payloads differ in length"
    for i: uint256 in range(len(targets), bound=_MAX_ACTIONS):
        self._check_delay_change(targets[i], payloads[i])
    votes: uint256 = staticcall token.get_past_votes(msg.sender, block.timestamp - 1)
    assert votes >= self.proposal_threshold, "governor: proposer votes below threshold"
    proposal_id: uint256 = self.proposal_count + 1
    self.proposal_count = proposal_id
    snapshot: uint256 = block.timestamp + self.voting_delay
    deadline: uint256 = snapshot + self.voting_period
    self.proposals[proposal_id] = Proposal(
        proposer=msg.sender,
        snapshot=snapshot,
        deadline=deadline,
        quorum_bps=self.quorum_bps,
        for_votes=0,
        against_votes=0,
        abstain_votes=0,
        eta=0,
        expires_at=0,
        cancelled=False,
        executed=False,
    )
    self.descriptions[proposal_id] = description
    self._targets[proposal_id] = targets
    self._payloads[proposal_id] = payloads
    log ProposalCreated(
        proposal_id=proposal_id,
        proposer=msg.sender,
        snapshot=snapshot,
        deadline=deadline,
        description=description,
    )
    return proposal_id


@external
def cast_vote(proposal_id: uint256, support: uint8) -> uint256:
    """
    @notice Votes with the caller's voting power at the proposal's snapshot.
    @param proposal_id The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @return uint256 The weight of the vote.
    """
    return self._cast_vote(msg.sender, proposal_id, support, "")


@external
def cast_vote_with_reason(proposal_id: uint256, support: uint8, reason: String[256]) -> uint256:
    """
    @notice Votes, and says why in the `VoteCast` log.
    @param proposal_id The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @param reason The voter's reason.
    @return uint256 The weight of the vote.
    """
    return self._cast_vote(msg.sender, proposal_id, support, reason)


@external
def queue(proposal_id: uint256):
    """
    @notice Schedules a succeeded proposal's calls in the timelock.
    @param proposal_id The proposal.
    """
    assert self._state(proposal_id) == SUCCEEDED, "governor: proposal not successful"
    delay: uint256 = staticcall timelock.get_minimum_delay()
    eta: uint256 = block.timestamp + delay
    self.proposals[proposal_id].eta = eta
    self.proposals[proposal_id].expires_at = eta + self.grace_period
    targets: DynArray[address, _MAX_ACTIONS] = self._targets[proposal_id]
    payloads: DynArray[Bytes[_MAX_PAYLOAD], _MAX_ACTIONS] = self._payloads[proposal_id]
    # one operation per call, as Bravo queues them: the timelock's batch functions take
    # arrays bounded at 255 calls, whose memory alone costs about 1.5M gas per use
    for i: uint256 in range(len(targets), bound=_MAX_ACTIONS):
        extcall timelock.schedule(
            targets[i], 0, payloads[i], empty(bytes32), self._salt(proposal_id, i), delay
        )
    log ProposalQueued(proposal_id=proposal_id, eta=eta)


@external
def execute(proposal_id: uint256):
    """
    @notice Runs a queued proposal's calls once its timelock delay is over;
            anyone may call it.
    @param proposal_id The proposal.
    """
    state: uint8 = self._state(proposal_id)
    assert state != EXECUTED, "governor: proposal already executed"
    assert state != EXPIRED, "governor: proposal expired"
    assert state == QUEUED, "governor: proposal not queued"
    assert block.timestamp >= self.proposals[proposal_id].eta, "governor: timelock delay not over"
    self.proposals[proposal_id].executed = True  # checks-effects-interactions
    targets: DynArray[address, _MAX_ACTIONS] = self._targets[proposal_id]
    payloads: DynArray[Bytes[_MAX_PAYLOAD], _MAX_ACTIONS] = self._payloads[proposal_id]
    # in order, in this one transaction: a call that reverts undoes them all
    for i: uint256 in range(len(targets), bound=_MAX_ACTIONS):
        extcall timelock.execute(targets[i], 0, payloads[i], empty(bytes32), self._salt(proposal_id, i))
    log ProposalExecuted(proposal_id=proposal_id)


@external
def cancel(proposal_id: uint256):
    """
    @notice Withdraws a proposal that has not run; its proposer only. Anyone
            may cancel an expired one, which clears its operation from the
            timelock (else it would stay ready there for good).
    @param proposal_id The proposal.
    """
    state: uint8 = self._state(proposal_id)
    if state != EXPIRED:
        assert msg.sender == self.proposals[proposal_id].proposer, "governor: only the proposer can cancel"
    assert state in [PENDING, ACTIVE, SUCCEEDED, QUEUED, EXPIRED], "governor: proposal cannot be cancelled"
    self.proposals[proposal_id].cancelled = True
    if state in [QUEUED, EXPIRED]:
        for i: uint256 in range(len(self._targets[proposal_id]), bound=_MAX_ACTIONS):
            extcall timelock.cancel(self._operation_id(proposal_id, i))
    log ProposalCanceled(proposal_id=proposal_id)


@external
def set_voting_delay(new_value: uint256):
    """
    @notice Seconds from proposal to snapshot; the timelock only.
    @param new_value The new delay, from one second to 30 days.
    """
    self._only_timelock()
    self._set_voting_delay(new_value)


@external
def set_voting_period(new_value: uint256):
    """
    @notice Seconds of voting; the timelock only.
    @param new_value The new period, from one second to 30 days.
    """
    self._only_timelock()
    self._set_voting_period(new_value)


@external
def set_proposal_threshold(new_value: uint256):
    """
    @notice Votes a proposer needs; the timelock only.
    @param new_value The new threshold, in the token's smallest unit, at most
           1% of the supply now.
    """
    self._only_timelock()
    self._set_proposal_threshold(new_value)


@external
def set_quorum_bps(new_value: uint256):
    """
    @notice The quorum for proposals made from now on; the timelock only.
    @param new_value Basis points of the supply at the snapshot, at most 5,000.
    """
    self._only_timelock()
    self._set_quorum_bps(new_value)


@external
def set_grace_period(new_value: uint256):
    """
    @notice How long proposals queued from now on stay runnable; the timelock only.
    @param new_value The new grace period, from one second to 90 days.
    """
    self._only_timelock()
    self._set_grace_period(new_value)


@external
@view
def state(proposal_id: uint256) -> uint8:
    """
    @notice Where a proposal is in its lifecycle.
    @param proposal_id The proposal.
    @return uint8 One of the state constants (`PENDING` ... `EXECUTED`).
    """
    return self._state(proposal_id)


@external
@view
def quorum(timepoint: uint256) -> uint256:
    """
    @notice The quorum a proposal made now would need, at a past timepoint.
    @param timepoint A timestamp before the current block's.
    @return uint256 For and abstain votes needed.
    """
    return self._quorum(timepoint, self.quorum_bps)


@external
@view
def proposal_quorum(proposal_id: uint256) -> uint256:
    """
    @notice The quorum of a proposal whose snapshot has passed.
    @param proposal_id The proposal.
    @return uint256 For and abstain votes needed.
    """
    proposal: Proposal = self.proposals[proposal_id]
    assert proposal.proposer != empty(address), "governor: unknown proposal"
    return self._quorum(proposal.snapshot, proposal.quorum_bps)


@external
@view
def actions(
    proposal_id: uint256,
) -> (DynArray[address, _MAX_ACTIONS], DynArray[Bytes[_MAX_PAYLOAD], _MAX_ACTIONS]):
    """
    @notice The calls a proposal makes.
    @param proposal_id The proposal.
    @return DynArray The targets.
    @return DynArray The ABI-encoded call for each target.
    """
    assert self.proposals[proposal_id].proposer != empty(address), "governor: unknown proposal"
    return self._targets[proposal_id], self._payloads[proposal_id]


@external
@view
def operation_id(proposal_id: uint256, index: uint256) -> bytes32:
    """
    @notice The timelock's operation id of one of a proposal's calls.
    @param proposal_id The proposal.
    @param index The call's position in the proposal, from 0.
    @return bytes32 The id `timelock.get_timestamp` is keyed by.
    """
    assert self.proposals[proposal_id].proposer != empty(address), "governor: unknown proposal"
    assert index < len(self._targets[proposal_id]), "governor: no such action"
    return self._operation_id(proposal_id, index)


@internal
def _cast_vote(voter: address, proposal_id: uint256, support: uint8, reason: String[256]) -> uint256:
    """
    @dev Counts one vote of `voter` with its power at the snapshot.
    """
    state: uint8 = self._state(proposal_id)
    assert state != PENDING, "governor: voting has not started"
    assert state == ACTIVE, "governor: voting is closed"
    assert support <= VOTE_ABSTAIN, "governor: invalid vote type"
    assert not self.has_voted[proposal_id][voter], "governor: vote already cast"
    weight: uint256 = staticcall token.get_past_votes(voter, self.proposals[proposal_id].snapshot)
    assert weight != 0, "governor: no voting power at the snapshot"
    self.has_voted[proposal_id][voter] = True
    if support == VOTE_FOR:
        self.proposals[proposal_id].for_votes += weight
    elif support == VOTE_AGAINST:
        self.proposals[proposal_id].against_votes += weight
    else:
        self.proposals[proposal_id].abstain_votes += weight
    log VoteCast(
        voter=voter, proposal_id=proposal_id, support=support, weight=weight, reason=reason
    )
    return weight


@internal
@view
def _check_delay_change(target: address, payload: Bytes[_MAX_PAYLOAD]):
    """
    @dev A timelock delay beyond `_MAX_DELAY` could lock governance: lowering
         it again would need a proposal to wait that long.
    """
    if target != timelock.address or len(payload) < 36:
        return
    if slice(payload, 0, 4) == method_id("update_delay(uint256)", output_type=Bytes[4]):
        delay: uint256 = extract32(payload, 4, output_type=uint256)
        assert delay <= _MAX_DELAY, "governor: timelock delay too long"


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    """
    @dev The lifecycle of OpenZeppelin's `Governor.state`, plus Bravo's expiry.
    """
    proposal: Proposal = self.proposals[proposal_id]
    assert proposal.proposer != empty(address), "governor: unknown proposal"
    if proposal.executed:
        return EXECUTED
    if proposal.cancelled:
        return CANCELED
    if block.timestamp <= proposal.snapshot:
        return PENDING
    if block.timestamp <= proposal.deadline:
        return ACTIVE
    quorum: uint256 = self._quorum(proposal.snapshot, proposal.quorum_bps)
    if proposal.for_votes + proposal.abstain_votes < quorum:
        return DEFEATED
    if proposal.for_votes <= proposal.against_votes:
        return DEFEATED
    if proposal.eta == 0:
        return SUCCEEDED
    if block.timestamp > proposal.expires_at:
        return EXPIRED
    return QUEUED


@internal
@view
def _quorum(timepoint: uint256, bps: uint256) -> uint256:
    """
    @dev `bps` of the supply at `timepoint`, rounded down.
    """
    return staticcall token.get_past_total_supply(timepoint) * bps // _BPS


@internal
@view
def _operation_id(proposal_id: uint256, index: uint256) -> bytes32:
    """
    @dev The timelock's id for one of the proposal's calls.
    """
    return staticcall timelock.hash_operation(
        self._targets[proposal_id][index],
        0,
        self._payloads[proposal_id][index],
        empty(bytes32),
        self._salt(proposal_id, index),
    )


@internal
@view
def _salt(proposal_id: uint256, index: uint256) -> bytes32:
    """
    @dev Unique per governor, proposal and call, so equal calls never collide.
    """
    return keccak256(abi_encode(self, proposal_id, index))


@internal
@view
def _only_timelock():
    """
    @dev Governed settings change only through a passed proposal.
    """
    assert msg.sender == timelock.address, "governor: caller is not the timelock"


@internal
def _set_voting_delay(new_value: uint256):
    """
    @dev At least a second, so that nobody who sees a proposal can still buy
         or borrow votes within its snapshot second.
    """
    assert new_value != 0, "governor: voting delay is zero"
    assert new_value <= _MAX_DELAY, "governor: voting delay too long"
    log SettingChanged(setting="voting_delay", old_value=self.voting_delay, new_value=new_value)
    self.voting_delay = new_value


@internal
def _set_voting_period(new_value: uint256):
    """
    @dev A zero period would leave no second to vote in.
    """
    assert new_value != 0, "governor: voting period is zero"
    assert new_value <= _MAX_VOTING_PERIOD, "governor: voting period too long"
    log SettingChanged(setting="voting_period", old_value=self.voting_period, new_value=new_value)
    self.voting_period = new_value


@internal
def _set_proposal_threshold(new_value: uint256):
    """
    @dev Zero lets every holder propose; above 1% of the supply could shut
         every holder out.
    """
    supply: uint256 = staticcall token.totalSupply()
    assert new_value <= supply * _MAX_THRESHOLD_BPS // _BPS, "governor: threshold above 1% of supply"
    log SettingChanged(
        setting="proposal_threshold", old_value=self.proposal_threshold, new_value=new_value
    )
    self.proposal_threshold = new_value


@internal
def _set_quorum_bps(new_value: uint256):
    """
    @dev Escrowed and undelegated tokens do not vote: a quorum near the whole
         supply could never be reached again.
    """
    assert new_value <= _MAX_QUORUM_BPS, "governor: quorum above 50%"
    log SettingChanged(setting="quorum_bps", old_value=self.quorum_bps, new_value=new_value)
    self.quorum_bps = new_value


@internal
def _set_grace_period(new_value: uint256):
    """
    @dev A zero grace period would expire proposals as they become runnable.
    """
    assert new_value != 0, "governor: grace period is zero"
    assert new_value <= _MAX_GRACE_PERIOD, "governor: grace period too long"
    log SettingChanged(setting="grace_period", old_value=self.grace_period, new_value=new_value)
    self.grace_period = new_value

# pragma version ~=0.4.3
"""
@title Tessera disputes
@custom:contract-name disputes
@license Apache-2.0
@notice Anyone may challenge what a node posted, with a bond, inside the
        epoch's challenge window. Objective faults (a receipt the node did
        not sign, a model governance never approved, a paid request the
        client never authorized, one authorization billed twice, payouts
        that do not follow the receipts, through the payout prover) are
        decided from the evidence in the same transaction. A receipt the challenger cannot get must be produced
        on chain by the node within the response period. Faults that need
        re-execution (answer, attribution, prompt, a receipt's price) are judged by a
        committee of validators drawn by stake, voting with commit-reveal;
        a supermajority of its stake slashes. A proven fault slashes a
        governed share of the node's stake (to the challenger and the
        treasury), voids the epoch and every later one, and returns the
        bond; a failed challenge forfeits the bond to the node. An open
        challenge freezes the node's claims.
@dev The owner (the governance timelock once handed over) sets the
     parameters. Tokens held == validators' stake + rewards + open bonds.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable

import committee as jury
import receipt_evidence
import validator_set

initializes: ownable
initializes: validator_set
initializes: jury[validator_set := validator_set]
initializes: receipt_evidence

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    validator_set.token,
    validator_set.rewards,
    validator_set.total_staked,
    validator_set.total_rewards,
    validator_set.validators,
    validator_set.is_validator,
    validator_set.validator_stake,
    validator_set.validator_unbonding_ends,
    jury.committee,
    receipt_evidence.receipt_domain_separator,
    receipt_evidence.receipt_digest,
)


struct FeeSplit:
    node_bps: uint256
    owner_bps: uint256
    contributors_bps: uint256
    treasury_bps: uint256
    treasury: address
    validators_bps: uint256
    validators: address


interface Settlement:
    def epoch_count(node: address) -> uint256: view
    def claimable_at(node: address, epoch: uint256) -> uint256: view
    def epoch_receipts_root(node: address, epoch: uint256) -> bytes32: view
    def epoch_receipt_count(node: address, epoch: uint256) -> uint256: view
    def fee_split() -> FeeSplit: view
    def freeze(node: address): nonpayable
    def unfreeze(node: address): nonpayable
    def void_from(node: address, epoch: uint256): nonpayable
    def claim(node: address, epoch: uint256, cumulative: uint256, proof: DynArray[bytes32, 161]): nonpayable


interface Staking:
    def stake_of(node: address) -> uint256: view
    def unbonding_of(node: address) -> uint256: view
    def slash(node: address, amount: uint256, recipient: address): nonpayable


interface Policy:
    def was_approved(model_id: String[128], weights_digest: bytes32) -> bool: view


_BPS: constant(uint256) = 10_000
_MAX_PERIOD: constant(uint256) = 10 * 365 * 86_400  # keeps every deadline far from overflow
_MAX_BODY: constant(uint256) = 32_768

# challenge kinds
SIGNATURE: constant(uint8) = 1
MODEL: constant(uint8) = 2
UNAUTHORIZED: constant(uint8) = 3
WITHHELD: constant(uint8) = 4
ANSWER: constant(uint8) = 5
ATTRIBUTION: constant(uint8) = 6
PROMPT: constant(uint8) = 7
PRICE: constant(uint8) = 8  # a receipt's price against the node's advertised terms
REPLAYED: constant(uint8) = 9
PAYOUTS: constant(uint8) = 10  # proven by the payout prover

# challenge statuses
OPEN: constant(uint8) = 1
SLASHED: constant(uint8) = 2
DISMISSED: constant(uint8) = 3
ANSWERED: constant(uint8) = 4


struct DisputeParams:
    min_validator_stake: uint256
    validator_unbonding_delay: uint256
    min_bond: uint256
    response_period: uint256
    commit_period: uint256
    reveal_period: uint256
    committee_size: uint256
    supermajority_bps: uint256
    slash_bps: uint256
    challenger_share_bps: uint256
    dissent_penalty_bps: uint256


struct Challenge:
    node: address
    epoch: uint256
    index: uint256
    kind: uint8
    challenger: address
    bond: uint256
    opened_at: uint256
    deadline: uint256  # the end of the response period or of the reveal phase
    status: uint8
    commit_ends: uint256  # committee challenges only: commits before, reveals after


settlement: public(immutable(Settlement))
staking: public(immutable(Staking))
policy: public(immutable(Policy))
params: public(DisputeParams)
challenge_count: public(uint256)
bonds_held: public(uint256)
slashes: public(HashMap[address, uint256])
slashed_amount: public(HashMap[address, uint256])
_challenges: HashMap[uint256, Challenge]
_challenged: HashMap[bytes32, bool]  # keccak256(node, epoch, index, kind)
payout_prover: public(address)


event ChallengeOpened:
    id: indexed(uint256)
    node: indexed(address)
    epoch: uint256
    index: uint256
    kind: uint8
    challenger: indexed(address)


event ChallengeResolved:
    id: indexed(uint256)
    status: uint8
    slashed: uint256


event ReceiptProduced:
    id: indexed(uint256)
    body: Bytes[_MAX_BODY]


event RewardsCollected:
    node: indexed(address)
    epoch: uint256
    amount: uint256
    remainder: uint256  # to the treasury


event DissentPenalized:
    id: indexed(uint256)
    voter: indexed(address)
    amount: uint256


event ParamsChanged:
    params: DisputeParams


event ProverLinked:
    prover: indexed(address)


@deploy
def __init__(
    token_: IERC20,
    settlement_: Settlement,
    staking_: Staking,
    policy_: Policy,
    registry: address,
    params_: DisputeParams,
):
    """
    @dev The deployer owns the parameters until it hands them to governance.
    @param token_ The ERC-20 stakes, bonds and rewards are paid in (TSR).
    @param settlement_ The settlement whose epochs are challenged.
    @param staking_ The staking contract, which names this one its slasher.
    @param policy_ The policy that approves model versions.
    @param registry The registry: the verifying contract of every receipt.
    @param params_ The initial parameters.
    """
    ownable.__init__()
    validator_set.__init__(token_)
    receipt_evidence.__init__(registry)
    assert settlement_.address != empty(address), "disputes: zero settlement"
    assert staking_.address != empty(address), "disputes: zero staking"
    assert policy_.address != empty(address), "disputes: zero policy"
    settlement = settlement_
    staking = staking_
    policy = policy_
    self._set_params(params_)


# validators -----------------------------------------------------------------------------------


@external
def stake_validator(amount: uint256):
    """
    @notice Bonds `amount` more of the caller's TSR as a validator;
            approve this contract for at least `amount` first.
    @param amount Added to its stake; the sum must reach the minimum.
    """
    validator_set._stake(msg.sender, amount, self.params.min_validator_stake)


@external
def unstake_validator():
    """
    @notice Leaves the validator set: no new committee draws; the stake
            can be withdrawn after the unbonding delay.
    """
    validator_set._unstake(msg.sender, self.params.validator_unbonding_delay)


@external
def withdraw_validator() -> uint256:
    """
    @notice Pays the caller its validator stake once its unbonding is over.
    @return uint256 The amount paid.
    """
    return validator_set._withdraw(msg.sender)


@external
def collect(node: address, epoch: uint256, cumulative: uint256, proof: DynArray[bytes32, 161]):
    """
    @notice Claims the validators' pool leaf of a node's epoch from the
            settlement and shares it over the active validators by stake;
            anyone may call it. The rounding remainder goes to the treasury.
    @param node The paying node.
    @param epoch A claimable epoch of that node.
    @param cumulative The pool's cumulative amount in that epoch's root.
    @param proof The sparse Merkle proof of the pool's leaf.
    """
    before: uint256 = staticcall validator_set.token.balanceOf(self)
    extcall settlement.claim(node, epoch, cumulative, proof)
    amount: uint256 = staticcall validator_set.token.balanceOf(self) - before
    remainder: uint256 = validator_set._share(amount)
    self._pay(self._treasury(), remainder)
    log RewardsCollected(node=node, epoch=epoch, amount=amount, remainder=remainder)


@external
def withdraw_rewards() -> uint256:
    """
    @notice Pays the caller every reward credited to it.
    @return uint256 The amount paid.
    """
    return validator_set._withdraw_rewards(msg.sender)


# challenges -----------------------------------------------------------------------------------


@external
def challenge_receipt(
    node: address,
    epoch: uint256,
    kind: uint8,
    evidence: receipt_evidence.ReceiptEvidence,
    nonce: uint256,
    client_signature: Bytes[65],
) -> uint256:
    """
    @notice Challenges one receipt of a node's epoch with a bond (approve
            `min_bond` first). An objective fault is decided now: it
            reverts unless the fault holds, and slashes if it does. A
            committee kind opens a vote and freezes the node's claims.
    @param node The node.
    @param epoch One of its posted epochs, inside its challenge window.
    @param kind SIGNATURE, MODEL, UNAUTHORIZED, ANSWER, ATTRIBUTION,
           PROMPT or PRICE.
    @param evidence The receipt as the node posted it, with its proof.
    @param nonce UNAUTHORIZED only: the authorization's nonce.
    @param client_signature UNAUTHORIZED only: the client's signature.
    @return uint256 The challenge's id.
    """
    assert kind >= SIGNATURE and kind <= PRICE and kind != WITHHELD, "disputes: unknown kind"
    self._check_window(node, epoch)
    assert evidence.index < staticcall settlement.epoch_receipt_count(node, epoch), (
        "disputes: unknown receipt"
    )
    assert receipt_evidence._in_root(
        evidence, staticcall settlement.epoch_receipts_root(node, epoch)
    ), "disputes: invalid receipt proof"
    self._claim_key(node, epoch, evidence.index, kind, "disputes: receipt already challenged")
    self._check_bond(msg.sender)

    if kind == SIGNATURE:
        assert not receipt_evidence._signed_by_node(evidence, node), (
            "disputes: receipt signature is valid"
        )
    elif kind == MODEL:
        assert not staticcall policy.was_approved(evidence.model, evidence.model_digest), (
            "disputes: model was approved"
        )
    elif kind == UNAUTHORIZED:
        assert not receipt_evidence._client_authorized(evidence, node, nonce, client_signature), (
            "disputes: client authorized the request"
        )
    else:
        return self._open_committee(node, epoch, evidence.index, kind)
    # proven now: the bond would come straight back, so it never moves
    id: uint256 = self._open(node, epoch, evidence.index, kind, block.timestamp, 0, 0, msg.sender)
    self._slash(id)
    return id


@external
def challenge_replayed(
    node: address,
    epoch: uint256,
    evidence: receipt_evidence.ReceiptEvidence,
    earlier_epoch: uint256,
    earlier: receipt_evidence.ReceiptEvidence,
    nonce: uint256,
    client_signature: Bytes[65],
    earlier_signature: Bytes[65],
) -> uint256:
    """
    @notice Proves, with a bond (approve `min_bond` first), that a node
            billed one client authorization twice: two receipts it signed
            and posted, the later in an epoch inside its challenge window,
            that spend the same client's same nonce. Decided now: the
            node is slashed and the later receipt's epoch voided.
    @param node The node.
    @param epoch The later receipt's epoch, inside its challenge window.
    @param evidence The later receipt, with its proof.
    @param earlier_epoch The earlier receipt's epoch (any posted one).
    @param earlier The earlier receipt, with its proof.
    @param nonce The authorization's nonce, which both receipts commit to.
    @param client_signature The client's signature the later receipt commits to.
    @param earlier_signature The one the earlier receipt commits to (the
           same authorization may be spelled in 65 or 64 bytes).
    @return uint256 The challenge's id.
    """
    self._check_window(node, epoch)
    count: uint256 = staticcall settlement.epoch_count(node)
    assert earlier_epoch < count, "disputes: unknown epoch"
    assert evidence.index < staticcall settlement.epoch_receipt_count(node, epoch), (
        "disputes: unknown receipt"
    )
    assert earlier.index < staticcall settlement.epoch_receipt_count(node, earlier_epoch), (
        "disputes: unknown receipt"
    )
    assert earlier_epoch < epoch or (earlier_epoch == epoch and earlier.index < evidence.index), (
        "disputes: not an earlier receipt"
    )
    assert receipt_evidence._in_root(
        evidence, staticcall settlement.epoch_receipts_root(node, epoch)
    ), "disputes: invalid receipt proof"
    assert receipt_evidence._in_root(
        earlier, staticcall settlement.epoch_receipts_root(node, earlier_epoch)
    ), "disputes: invalid receipt proof"
    # a receipt the node did not sign, or a request its client did not sign, is another fault
    assert receipt_evidence._signed_by_node(evidence, node) and receipt_evidence._signed_by_node(
        earlier, node
    ), "disputes: receipt signature is invalid"
    assert (
        evidence.client == earlier.client
        and evidence.authorization_hash != empty(bytes32)
        and earlier.authorization_hash != empty(bytes32)
    ), "disputes: not one authorization"
    assert receipt_evidence._client_authorized(
        evidence, node, nonce, client_signature
    ) and receipt_evidence._client_authorized(earlier, node, nonce, earlier_signature), (
        "disputes: client did not authorize both"
    )
    self._claim_key(node, epoch, evidence.index, REPLAYED, "disputes: receipt already challenged")
    self._check_bond(msg.sender)
    id: uint256 = self._open(
        node, epoch, evidence.index, REPLAYED, block.timestamp, 0, 0, msg.sender
    )
    self._slash(id)
    return id


@external
def challenge_withheld(node: address, epoch: uint256, index: uint256) -> uint256:
    """
    @notice Asks, with a bond, for a receipt of a node's epoch that the
            node does not make available: it must produce it on chain
            within the response period, or be slashed.
    @param node The node.
    @param epoch One of its posted epochs, inside its challenge window.
    @param index The receipt's position in the epoch's bundle.
    @return uint256 The challenge's id.
    """
    self._check_window(node, epoch)
    assert index < staticcall settlement.epoch_receipt_count(node, epoch), (
        "disputes: unknown receipt"
    )
    self._claim_key(node, epoch, index, WITHHELD, "disputes: receipt already challenged")
    self._check_bond(msg.sender)
    bond: uint256 = self._pull_bond()
    id: uint256 = self._open(
        node,
        epoch,
        index,
        WITHHELD,
        block.timestamp + self.params.response_period,
        0,
        bond,
        msg.sender,
    )
    extcall settlement.freeze(node)
    return id


@external
def slash_payouts(node: address, epoch: uint256, index: uint256, challenger: address) -> uint256:
    """
    @notice Slashes a node whose payouts the payout prover has just shown
            not to follow its receipts; only the prover may call it. The
            challenger needs a bond as for any challenge, which never moves.
    @param node The node.
    @param epoch The epoch, inside its challenge window.
    @param index The receipt whose step is wrong (the receipt count: the
           posted root is not the last receipt's state).
    @param challenger Who proved it, paid its share of the slash.
    @return uint256 The challenge's id.
    """
    assert msg.sender == self.payout_prover and msg.sender != empty(address), (
        "disputes: caller is not the payout prover"
    )
    self._check_window(node, epoch)
    self._claim_key(node, epoch, index, PAYOUTS, "disputes: payouts already challenged")
    self._check_bond(challenger)
    id: uint256 = self._open(node, epoch, index, PAYOUTS, block.timestamp, 0, 0, challenger)
    self._slash(id)
    return id


@external
def link_prover(prover: address):
    """
    @notice Names, once, the payout prover whose proofs slash.
    @param prover The payout prover; not zero.
    """
    ownable._check_owner()
    assert self.payout_prover == empty(address), "disputes: prover already linked"
    assert prover != empty(address), "disputes: zero prover"
    self.payout_prover = prover
    log ProverLinked(prover=prover)


@external
def produce(id: uint256, evidence: receipt_evidence.ReceiptEvidence, body: Bytes[_MAX_BODY]):
    """
    @notice Answers a withheld-receipt challenge by publishing the
            receipt's body (anyone may); the bond goes to the node.
    @param id The challenge.
    @param evidence The receipt's signed fields and leaf proof.
    @param body The receipt's canonical body; its hash must be the leaf's.
    """
    challenge: Challenge = self._open_challenge(id)
    assert challenge.kind == WITHHELD, "disputes: not a withheld-receipt challenge"
    assert block.timestamp < challenge.deadline, "disputes: response period over"
    assert evidence.index == challenge.index, "disputes: not the challenged receipt"
    assert keccak256(body) == evidence.body_hash, "disputes: body does not match"
    assert receipt_evidence._in_root(
        evidence, staticcall settlement.epoch_receipts_root(challenge.node, challenge.epoch)
    ), "disputes: invalid receipt proof"
    self._close(id, challenge, ANSWERED, challenge.node)
    log ReceiptProduced(id=id, body=body)


@external
def commit_vote(id: uint256, commitment: bytes32):
    """
    @notice A committee member's hidden vote during the commit phase.
    @param id The challenge.
    @param commitment keccak256(abi_encode(id, guilty, salt, voter)).
    """
    challenge: Challenge = self._challenge(id)
    assert block.timestamp < challenge.commit_ends, "disputes: not in commit phase"
    jury._commit(id, msg.sender, commitment)


@external
def reveal_vote(id: uint256, guilty: bool, salt: bytes32):
    """
    @notice Opens the caller's commitment during the reveal phase.
    @param id The challenge.
    @param guilty The vote committed to.
    @param salt The salt committed with it.
    """
    challenge: Challenge = self._challenge(id)
    assert challenge.commit_ends != 0, "disputes: not in reveal phase"
    assert block.timestamp >= challenge.commit_ends, "disputes: not in reveal phase"
    assert block.timestamp < challenge.deadline, "disputes: not in reveal phase"
    jury._reveal(id, msg.sender, guilty, salt)


@external
def resolve(id: uint256):
    """
    @notice Decides a challenge whose response period or vote is over;
            anyone may call it. A withheld receipt not produced slashes; a
            committee slashes on a supermajority of its stake, and else the
            bond goes to the node. Members who voted against the outcome,
            or did not reveal, lose a share of their rewards.
    @param id The challenge.
    """
    challenge: Challenge = self._open_challenge(id)
    if challenge.kind == WITHHELD:
        assert block.timestamp >= challenge.deadline, "disputes: response period open"
        self._slash(id)
        return
    assert block.timestamp >= challenge.deadline, "disputes: voting not over"
    guilty: bool = jury._is_guilty(id, self.params.supermajority_bps)
    if guilty:
        self._slash(id)
    else:
        self._close(id, challenge, DISMISSED, challenge.node)
    penalties: uint256 = 0
    dissenters: DynArray[address, jury.MAX_COMMITTEE] = jury._dissenters(id, guilty)
    for voter: address in dissenters:
        penalty: uint256 = validator_set._penalize(voter, self.params.dissent_penalty_bps)
        if penalty != 0:
            penalties += penalty
            log DissentPenalized(id=id, voter=voter, amount=penalty)
    self._pay(self._treasury(), penalties)


@external
@view
def challenge(id: uint256) -> Challenge:
    """
    @notice One challenge as it stands.
    @param id The challenge (ids start at 1).
    @return Challenge Its record.
    """
    return self._challenge(id)


# parameters -----------------------------------------------------------------------------------


@external
def set_params(params_: DisputeParams):
    """
    @notice Changes the governed parameters; open challenges keep their
            deadlines and committees.
    @param params_ The new parameters.
    """
    ownable._check_owner()
    self._set_params(params_)


# internals ------------------------------------------------------------------------------------


@internal
@view
def _check_window(node: address, epoch: uint256):
    assert epoch < staticcall settlement.epoch_count(node), "disputes: unknown epoch"
    assert block.timestamp < staticcall settlement.claimable_at(node, epoch), (
        "disputes: challenge window closed"
    )


@internal
def _claim_key(node: address, epoch: uint256, index: uint256, kind: uint8, reason: String[40]):
    # one challenge per fault: a dismissed one cannot be argued again
    key: bytes32 = keccak256(abi_encode(node, epoch, index, kind))
    assert not self._challenged[key], reason
    self._challenged[key] = True


@internal
@view
def _check_bond(challenger: address):
    bond: uint256 = self.params.min_bond
    assert (
        staticcall validator_set.token.allowance(challenger, self) >= bond
        and staticcall validator_set.token.balanceOf(challenger) >= bond
    ), "disputes: bond too small"


@internal
def _pull_bond() -> uint256:
    bond: uint256 = self.params.min_bond
    self.bonds_held += bond
    assert extcall validator_set.token.transferFrom(msg.sender, self, bond, default_return_value=True), (
        "disputes: transfer failed"
    )
    return bond


@internal
def _open_committee(node: address, epoch: uint256, index: uint256, kind: uint8) -> uint256:
    bond: uint256 = self._pull_bond()
    commit_ends: uint256 = block.timestamp + self.params.commit_period
    id: uint256 = self._open(
        node,
        epoch,
        index,
        kind,
        commit_ends + self.params.reveal_period,
        commit_ends,
        bond,
        msg.sender,
    )
    jury._draw(id, self.params.committee_size, node, msg.sender)
    extcall settlement.freeze(node)
    return id


@internal
def _open(
    node: address,
    epoch: uint256,
    index: uint256,
    kind: uint8,
    deadline: uint256,
    commit_ends: uint256,
    bond: uint256,
    challenger: address,
) -> uint256:
    id: uint256 = self.challenge_count + 1
    self.challenge_count = id
    self._challenges[id] = Challenge(
        node=node,
        epoch=epoch,
        index=index,
        kind=kind,
        challenger=challenger,
        bond=bond,
        opened_at=block.timestamp,
        deadline=deadline,
        status=OPEN,
        commit_ends=commit_ends,
    )
    log ChallengeOpened(id=id, node=node, epoch=epoch, index=index, kind=kind, challenger=challenger)
    return id


@internal
@view
def _challenge(id: uint256) -> Challenge:
    assert id != 0 and id <= self.challenge_count, "disputes: unknown challenge"
    return self._challenges[id]


@internal
@view
def _open_challenge(id: uint256) -> Challenge:
    challenge: Challenge = self._challenge(id)
    assert challenge.status == OPEN, "disputes: already resolved"
    return challenge


@internal
def _slash(id: uint256):
    """
    @dev Takes `slash_bps` of the node's bonded plus unbonding stake, to
         the challenger and the treasury in named shares; the bond goes
         back; the epoch and every later one of the node are voided.
    """
    challenge: Challenge = self._challenges[id]
    node: address = challenge.node
    p: DisputeParams = self.params
    amount: uint256 = (
        (staticcall staking.stake_of(node) + staticcall staking.unbonding_of(node))
        * p.slash_bps
        // _BPS
    )
    to_challenger: uint256 = amount * p.challenger_share_bps // _BPS
    if to_challenger != 0:
        extcall staking.slash(node, to_challenger, challenge.challenger)
    if amount != to_challenger:
        extcall staking.slash(node, amount - to_challenger, self._treasury())
    self.slashes[node] += 1
    self.slashed_amount[node] += amount
    extcall settlement.void_from(node, challenge.epoch)
    self._close(id, challenge, SLASHED, challenge.challenger)
    log ChallengeResolved(id=id, status=SLASHED, slashed=amount)


@internal
def _close(id: uint256, challenge: Challenge, status: uint8, bond_to: address):
    """
    @dev Ends an open challenge: pays its bond on and lifts its freeze
         (a challenge decided at once held neither).
    """
    self._challenges[id].status = status
    if challenge.bond != 0:
        self.bonds_held -= challenge.bond
        self._pay(bond_to, challenge.bond)
    if challenge.kind >= WITHHELD and challenge.kind <= PRICE:  # the kinds that froze
        extcall settlement.unfreeze(challenge.node)
    if status != SLASHED:
        log ChallengeResolved(id=id, status=status, slashed=0)


@internal
def _pay(recipient: address, amount: uint256):
    if amount != 0:
        assert extcall validator_set.token.transfer(recipient, amount, default_return_value=True), (
            "disputes: transfer failed"
        )


@internal
@view
def _treasury() -> address:
    return (staticcall settlement.fee_split()).treasury


@internal
def _set_params(p: DisputeParams):
    assert p.min_validator_stake != 0, "disputes: zero minimum stake"
    assert p.min_bond != 0, "disputes: zero bond"
    assert p.response_period != 0 and p.commit_period != 0 and p.reveal_period != 0, (
        "disputes: zero period"
    )
    assert (
        max(p.validator_unbonding_delay, p.response_period) <= _MAX_PERIOD
        and p.commit_period + p.reveal_period <= _MAX_PERIOD
    ), "disputes: period too long"
    assert p.committee_size != 0 and p.committee_size <= jury.MAX_COMMITTEE, (
        "disputes: committee size out of range"
    )
    assert p.supermajority_bps > _BPS // 2 and p.supermajority_bps <= _BPS, (
        "disputes: supermajority out of range"
    )
    assert max(p.slash_bps, max(p.challenger_share_bps, p.dissent_penalty_bps)) <= _BPS, (
        "disputes: share above 10000"
    )
    self.params = p
    log ParamsChanged(params=p)

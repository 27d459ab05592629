# pragma version ~=0.4.3
"""
@title Tessera staking
@custom:contract-name staking
@license Apache-2.0
@notice Node operators bond TSR here to be listed in the node registry.
        Stake leaves only through unbonding, whose wait is longer than an
        epoch plus the challenge window, so a node cannot leave ahead of a
        challenge to what it posted. The slasher (one address that
        governance names) takes bonded stake first, then unbonding stake,
        and pays every slashed token to a named recipient.
@dev The owner (the governance timelock once handed over) sets the
     minimum stake, the unbonding delay and the slasher. Tokens held ==
     `total_staked` + `total_unbonding`, always.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable

import node_registry

initializes: ownable
initializes: node_registry

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    node_registry.nodes,
    node_registry.node_count,
    node_registry.node_at,
    node_registry.update,
)


interface Settlement:
    def epoch_length() -> uint256: view
    def challenge_period() -> uint256: view


_MAX_DELAY: constant(uint256) = 10 * 365 * 86_400  # keeps every deadline far from overflow


struct Unbonding:
    amount: uint256
    requested_at: uint256  # the latest unbond restarts the wait for the whole amount


token: public(immutable(IERC20))
settlement: public(immutable(Settlement))
min_stake: public(uint256)
unbonding_delay: public(uint256)
slasher: public(address)
total_staked: public(uint256)
total_unbonding: public(uint256)
_unbondings: HashMap[address, Unbonding]


event Staked:
    node: indexed(address)
    amount: uint256
    stake: uint256


event Unbonded:
    node: indexed(address)
    amount: uint256
    unbonding: uint256


event Withdrawn:
    node: indexed(address)
    amount: uint256


event Slashed:
    node: indexed(address)
    amount: uint256
    recipient: indexed(address)


event MinStakeChanged:
    min_stake: uint256


event UnbondingDelayChanged:
    unbonding_delay: uint256


event SlasherChanged:
    previous: indexed(address)
    slasher: indexed(address)


@deploy
def __init__(
    token_: IERC20, settlement_: Settlement, min_stake: uint256, unbonding_delay: uint256
):
    """
    @dev The deployer owns the parameters until it hands them to
         governance; nobody can slash until a slasher is set.
    @param token_ The ERC-20 stake is bonded in (TSR).
    @param settlement_ The settlement whose epoch and challenge periods
           every unbonding outlasts.
    @param min_stake The least bonded stake of an eligible node; not zero.
    @param unbonding_delay Seconds unbonding stake waits, at the least.
    """
    ownable.__init__()
    assert token_.address != empty(address), "staking: zero token"
    assert settlement_.address != empty(address), "staking: zero settlement"
    token = token_
    settlement = settlement_
    self._set_min_stake(min_stake)
    self._set_unbonding_delay(unbonding_delay)


@external
def register(amount: uint256, endpoint: String[256], metadata_cid: String[128]):
    """
    @notice Bonds `amount` of the caller's TSR and lists the caller as a
            node; approve this contract for at least `amount` first.
    @param amount Added to any stake the caller still has bonded; the sum
           must reach `min_stake`.
    @param endpoint The URL clients reach the node at; not empty.
    @param metadata_cid The CID of the node's metadata document; not empty.
    """
    stake: uint256 = node_registry.nodes[msg.sender].stake + amount
    node_registry._register(msg.sender, endpoint, metadata_cid, stake)
    assert stake >= self.min_stake, "staking: stake below minimum"
    self.total_staked += amount
    self._pull(amount)


@external
def add_stake(amount: uint256):
    """
    @notice Bonds `amount` more of the caller's TSR to its registration.
    @param amount The amount in the token's smallest unit; not zero.
    """
    assert amount != 0, "staking: zero amount"
    node_registry._check_registered(msg.sender)
    stake: uint256 = node_registry.nodes[msg.sender].stake + amount
    node_registry.nodes[msg.sender].stake = stake
    self.total_staked += amount
    self._pull(amount)
    log Staked(node=msg.sender, amount=amount, stake=stake)


@external
def unbond(amount: uint256):
    """
    @notice Moves `amount` of the caller's bonded stake into unbonding,
            keeping it registered; `leave` takes the whole stake.
    @dev Adds to any pending unbonding and restarts its wait.
    @param amount Not zero; what stays bonded must reach `min_stake`.
    """
    assert amount != 0, "staking: zero amount"
    node_registry._check_registered(msg.sender)
    stake: uint256 = node_registry.nodes[msg.sender].stake
    assert amount <= stake, "staking: exceeds stake"
    assert stake - amount >= self.min_stake, "staking: remaining stake below minimum"
    node_registry.nodes[msg.sender].stake = stake - amount
    self._start_unbonding(msg.sender, amount)


@external
def leave():
    """
    @notice Deregisters the caller and moves its whole stake into
            unbonding; it stays listed, inactive, and may register again.
    """
    self._start_unbonding(msg.sender, node_registry._deregister(msg.sender))


@external
def withdraw() -> uint256:
    """
    @notice Pays the caller its unbonding stake once the wait is over.
    @dev The wait is read now, so governance lengthening the settlement's
         periods also protects challenges to stake already unbonding.
    @return uint256 The amount paid.
    """
    pending: Unbonding = self._unbondings[msg.sender]
    assert pending.amount != 0, "staking: nothing to withdraw"
    assert block.timestamp >= self._withdrawable_at(pending), "staking: unbonding delay not over"
    self._unbondings[msg.sender] = empty(Unbonding)
    self.total_unbonding -= pending.amount
    # checks-effects-interactions
    assert extcall token.transfer(msg.sender, pending.amount, default_return_value=True), (
        "staking: transfer failed"
    )
    log Withdrawn(node=msg.sender, amount=pending.amount)
    return pending.amount


@external
def slash(node: address, amount: uint256, recipient: address):
    """
    @notice Takes `amount` of `node`'s stake, bonded first, then unbonding
            (so leaving does not escape a challenge), and pays it to
            `recipient`. A registered node left below `min_stake` stays
            registered but is not eligible.
    @param node The node slashed.
    @param amount Not zero, at most its bonded plus unbonding stake.
    @param recipient Who is paid the slashed tokens; a named party.
    """
    assert msg.sender == self.slasher, "staking: caller is not the slasher"
    assert amount != 0, "staking: zero amount"
    assert recipient != empty(address), "staking: zero recipient"
    assert recipient != self, "staking: recipient is the staking contract"
    stake: uint256 = node_registry.nodes[node].stake
    pending: uint256 = self._unbondings[node].amount
    assert amount <= stake + pending, "staking: slash exceeds stake"

    from_stake: uint256 = min(amount, stake)
    node_registry.nodes[node].stake = stake - from_stake
    self.total_staked -= from_stake
    if amount != from_stake:
        self._unbondings[node].amount = pending - (amount - from_stake)
        self.total_unbonding -= amount - from_stake
    assert extcall token.transfer(recipient, amount, default_return_value=True), (
        "staking: transfer failed"
    )
    log Slashed(node=node, amount=amount, recipient=recipient)


@external
def set_min_stake(min_stake: uint256):
    """
    @notice Changes the least bonded stake of an eligible node; nodes
            below a raised minimum stay registered but are not eligible.
    @param min_stake In the token's smallest unit; not zero.
    """
    ownable._check_owner()
    self._set_min_stake(min_stake)


@external
def set_unbonding_delay(unbonding_delay: uint256):
    """
    @notice Changes how long unbonding stake waits, at the least.
    @param unbonding_delay Seconds; 1 to ten years.
    """
    ownable._check_owner()
    self._set_unbonding_delay(unbonding_delay)


@external
def set_slasher(slasher: address):
    """
    @notice Names the one address that may slash (the zero address: nobody).
    @param slasher The slasher, e.g. the disputes contract.
    """
    ownable._check_owner()
    log SlasherChanged(previous=self.slasher, slasher=slasher)
    self.slasher = slasher


@external
@view
def stake_of(node: address) -> uint256:
    """
    @notice The node's bonded stake.
    @param node The node.
    @return uint256 The amount in the token's smallest unit.
    """
    return node_registry.nodes[node].stake


@external
@view
def unbonding_of(node: address) -> uint256:
    """
    @notice The node's stake waiting out its unbonding.
    @param node The node.
    @return uint256 The amount in the token's smallest unit.
    """
    return self._unbondings[node].amount


@external
@view
def withdrawable_at(node: address) -> uint256:
    """
    @notice When the node's unbonding stake can be withdrawn, by the
            periods in force now.
    @param node The node.
    @return uint256 A timestamp (0: nothing unbonding).
    """
    pending: Unbonding = self._unbondings[node]
    if pending.amount == 0:
        return 0
    return self._withdrawable_at(pending)


@external
@view
def is_eligible(node: address) -> bool:
    """
    @notice Whether clients should choose the node: registered, with at
            least `min_stake` bonded.
    @param node The node.
    @return bool True if it is eligible.
    """
    listed: node_registry.Node = node_registry.nodes[node]
    return listed.active and listed.stake >= self.min_stake


@internal
def _pull(amount: uint256):
    # snekmate's erc20 reverts on a short allowance or balance
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), (
        "staking: transfer failed"
    )


@internal
def _start_unbonding(node: address, amount: uint256):
    if amount == 0:
        return  # a node slashed to nothing leaves without restarting a pending wait
    self.total_staked -= amount
    self.total_unbonding += amount
    pending: uint256 = self._unbondings[node].amount + amount
    self._unbondings[node] = Unbonding(amount=pending, requested_at=block.timestamp)
    log Unbonded(node=node, amount=amount, unbonding=pending)


@internal
@view
def _withdrawable_at(pending: Unbonding) -> uint256:
    # longer than an epoch plus its challenge window, whatever the delay was set to
    shortest: uint256 = (
        staticcall settlement.epoch_length() + staticcall settlement.challenge_period() + 1
    )
    return pending.requested_at + max(self.unbonding_delay, shortest)


@internal
def _set_min_stake(min_stake: uint256):
    assert min_stake != 0, "staking: zero minimum stake"
    self.min_stake = min_stake
    log MinStakeChanged(min_stake=min_stake)


@internal
def _set_unbonding_delay(unbonding_delay: uint256):
    assert unbonding_delay != 0, "staking: zero unbonding delay"
    assert unbonding_delay <= _MAX_DELAY, "staking: unbonding delay too long"
    self.unbonding_delay = unbonding_delay
    log UnbondingDelayChanged(unbonding_delay=unbonding_delay)

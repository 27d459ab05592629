# pragma version ~=0.4.3
"""
@title Tessera validator set
@custom:contract-name validator_set
@license Apache-2.0
@notice Validators bond TSR to sit on dispute committees, drawn by stake.
        Stake leaves only after an unbonding delay. The validators' share
        of every answer's fee is shared over the active validators by
        stake; each withdraws its own rewards.
@dev A module: `disputes.vy` initializes it and passes in the governed
     minimum stake and unbonding delay. Tokens it accounts for ==
     `total_staked` + `total_rewards`, always.
"""

from ethereum.ercs import IERC20


_BPS: constant(uint256) = 10_000
MAX_VALIDATORS: constant(uint256) = 64


struct Validator:
    stake: uint256
    unbonding_ends: uint256  # 0: active (or never staked)


token: public(IERC20)
total_staked: public(uint256)  # active and unbonding
total_active_stake: public(uint256)
total_rewards: public(uint256)
rewards: public(HashMap[address, uint256])
_validators: HashMap[address, Validator]
_active: DynArray[address, MAX_VALIDATORS]
_position: HashMap[address, uint256]  # index in `_active` + 1; 0 = not active


event ValidatorStaked:
    validator: indexed(address)
    amount: uint256
    stake: uint256


event ValidatorUnstaked:
    validator: indexed(address)
    stake: uint256
    unbonding_ends: uint256


event ValidatorWithdrawn:
    validator: indexed(address)
    amount: uint256


event RewardsWithdrawn:
    validator: indexed(address)
    amount: uint256


@deploy
def __init__(token_: IERC20):
    """
    @dev Fixes the token stake and rewards are paid in.
    @param token_ The ERC-20 (TSR).
    """
    assert token_.address != empty(address), "disputes: zero token"
    self.token = token_


@external
@view
def validators() -> DynArray[address, MAX_VALIDATORS]:
    """
    @notice The active validators, in no particular order.
    @return DynArray Their addresses.
    """
    return self._active


@external
@view
def is_validator(account: address) -> bool:
    """
    @notice Whether `account` is an active validator.
    @param account The account.
    @return bool True if active.
    """
    return self._position[account] != 0


@external
@view
def validator_stake(account: address) -> uint256:
    """
    @notice The validator's stake, active or unbonding.
    @param account The validator.
    @return uint256 The amount in the token's smallest unit.
    """
    return self._validators[account].stake


@external
@view
def validator_unbonding_ends(account: address) -> uint256:
    """
    @notice When a leaving validator's stake can be withdrawn.
    @param account The validator.
    @return uint256 A timestamp (0: not leaving).
    """
    return self._validators[account].unbonding_ends


@internal
@view
def _stake_of(account: address) -> uint256:
    return self._validators[account].stake


@internal
def _stake(validator: address, amount: uint256, min_stake: uint256):
    """
    @dev Bonds `amount` of the validator's tokens, joining the active set
         once its stake reaches `min_stake`.
    """
    assert amount != 0, "disputes: zero amount"
    record: Validator = self._validators[validator]
    assert record.unbonding_ends == 0, "disputes: validator unbonding"
    stake: uint256 = record.stake + amount
    assert stake >= min_stake, "disputes: stake below minimum"
    if self._position[validator] == 0:
        assert len(self._active) < MAX_VALIDATORS, "disputes: validator set full"
        self._active.append(validator)
        self._position[validator] = len(self._active)
    self._validators[validator].stake = stake
    self.total_staked += amount
    self.total_active_stake += amount
    # checks-effects-interactions; snekmate's erc20 reverts on a short allowance or balance
    assert extcall self.token.transferFrom(validator, self, amount, default_return_value=True), (
        "disputes: transfer failed"
    )
    log ValidatorStaked(validator=validator, amount=amount, stake=stake)


@internal
def _unstake(validator: address, delay: uint256):
    """
    @dev Leaves the active set (no new committee draws) and starts the
         unbonding delay; committees already drawn keep its vote.
    """
    position: uint256 = self._position[validator]
    assert position != 0, "disputes: not a validator"
    last: address = self._active.pop()
    if position <= len(self._active):  # not the last: move the last into its place
        self._active[position - 1] = last
        self._position[last] = position
    self._position[validator] = 0
    stake: uint256 = self._validators[validator].stake
    ends: uint256 = block.timestamp + delay
    self._validators[validator].unbonding_ends = ends
    self.total_active_stake -= stake
    log ValidatorUnstaked(validator=validator, stake=stake, unbonding_ends=ends)


@internal
def _withdraw(validator: address) -> uint256:
    """
    @dev Pays a leaving validator its stake once the delay is over.
    """
    record: Validator = self._validators[validator]
    assert record.unbonding_ends != 0, "disputes: not unbonding"
    assert block.timestamp >= record.unbonding_ends, "disputes: unbonding not over"
    self._validators[validator] = empty(Validator)
    self.total_staked -= record.stake
    assert extcall self.token.transfer(validator, record.stake, default_return_value=True), (
        "disputes: transfer failed"
    )
    log ValidatorWithdrawn(validator=validator, amount=record.stake)
    return record.stake


@internal
def _share(amount: uint256) -> uint256:
    """
    @dev Credits `amount` to the active validators by stake, rounding each
         share down.
    @return uint256 What is left over (all of it when none is active).
    """
    total: uint256 = self.total_active_stake
    if total == 0:
        return amount
    paid: uint256 = 0
    for validator: address in self._active:
        part: uint256 = amount * self._validators[validator].stake // total
        self.rewards[validator] += part
        paid += part
    self.total_rewards += paid
    return amount - paid


@internal
def _penalize(validator: address, bps: uint256) -> uint256:
    """
    @dev Takes `bps` of the validator's unwithdrawn rewards back.
    @return uint256 The amount taken, for its caller to pay on.
    """
    penalty: uint256 = self.rewards[validator] * bps // _BPS
    self.rewards[validator] -= penalty
    self.total_rewards -= penalty
    return penalty


@internal
def _withdraw_rewards(validator: address) -> uint256:
    """
    @dev Pays the validator every reward credited to it.
    """
    amount: uint256 = self.rewards[validator]
    assert amount != 0, "disputes: no rewards"
    self.rewards[validator] = 0
    self.total_rewards -= amount
    assert extcall self.token.transfer(validator, amount, default_return_value=True), (
        "disputes: transfer failed"
    )
    log RewardsWithdrawn(validator=validator, amount=amount)
    return amount

# pragma version ~=0.4.3
"""
@title Tessera checkpointed voting power
@custom:contract-name votes
@license Apache-2.0
@notice Delegable, checkpointed voting power over the balances of an
        `erc20` token, in the style of OpenZeppelin's `ERC20Votes` and
        Compound's COMP. Balances count as votes only once delegated,
        so a holder who wants to vote delegates to itself.
@dev The token must call `_transfer_voting_units` after every balance
     change (transfer, mint, burn). Checkpoints are keyed by block
     timestamp (EIP-6372 `mode=timestamp`, as OpenZeppelin advises for
     rollups, whose `block.number` does not tick evenly or at all) and
     each fits one storage slot: a 48-bit timestamp above a 208-bit
     amount, so the total supply must stay within `max_value(uint208)`.
     `delegate_by_sig` spends the same `nonces` as `erc20.permit`, as
     OpenZeppelin's `Nonces` does: one counter per signer, one getter.
"""

from snekmate.tokens import erc20
from snekmate.utils import ecdsa

uses: erc20


_DELEGATION_TYPE_HASH: constant(bytes32) = keccak256(
    "Delegation(address delegatee,uint256 nonce,uint256 expiry)"
)
_VOTES_BITS: constant(uint256) = 208
_VOTES_MASK: constant(uint256) = (1 << _VOTES_BITS) - 1
# histories are keyed by `convert(account, uint256)`; no address reaches 2**160
_TOTAL_SUPPLY_KEY: constant(uint256) = 1 << 160
# halving any uint256 range ends within 256 steps
_MAX_SEARCH_STEPS: constant(uint256) = 256


struct Checkpoint:
    from_timestamp: uint48
    votes: uint208


delegates: public(HashMap[address, address])
# each entry packs `from_timestamp << _VOTES_BITS | votes` into one slot (gas savings)
_checkpoints: HashMap[uint256, HashMap[uint256, uint256]]
_checkpoint_counts: HashMap[uint256, uint256]


event DelegateChanged:
    delegator: indexed(address)
    from_delegate: indexed(address)
    to_delegate: indexed(address)


event DelegateVotesChanged:
    delegate: indexed(address)
    previous_votes: uint256
    new_votes: uint256


@external
def delegate(delegatee: address):
    """
    @notice Delegates the caller's voting power to `delegatee`.
    @param delegatee The account that votes with the caller's balance;
           the caller itself to vote directly, zero to stop counting.
    """
    self._delegate(msg.sender, delegatee)


@external
def delegate_by_sig(
    delegatee: address, nonce: uint256, expiry: uint256, v: uint8, r: bytes32, s: bytes32
):
    """
    @notice Delegates the signer's voting power to `delegatee`, given the
            signer's EIP-712 `Delegation` under the token's domain.
    @param delegatee The account that votes with the signer's balance.
    @param nonce The signer's current `nonces` value.
    @param expiry The last block timestamp at which the signature is valid.
    @param v The secp256k1 signature parameter `v`.
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s`.
    """
    assert block.timestamp <= expiry, "votes: signature expired"
    struct_hash: bytes32 = keccak256(abi_encode(_DELEGATION_TYPE_HASH, delegatee, nonce, expiry))
    digest: bytes32 = erc20.eip712_domain_separator._hash_typed_data_v4(struct_hash)
    signer: address = ecdsa._recover_vrs(
        digest, convert(v, uint256), convert(r, uint256), convert(s, uint256)
    )
    assert nonce == erc20.nonces[signer], "votes: invalid nonce"
    erc20.nonces[signer] = nonce + 1
    self._delegate(signer, delegatee)


@external
@view
def get_votes(account: address) -> uint256:
    """
    @notice The voting power currently delegated to `account`.
    @param account The delegate.
    @return uint256 Its votes now.
    """
    return self._latest(convert(account, uint256))


@external
@view
def get_past_votes(account: address, timepoint: uint256) -> uint256:
    """
    @notice The voting power delegated to `account` at the end of a past second.
    @param account The delegate.
    @param timepoint A timestamp before the current block's.
    @return uint256 Its votes after the last block at or before `timepoint`.
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    return self._lookup(convert(account, uint256), timepoint)


@external
@view
def get_past_total_supply(timepoint: uint256) -> uint256:
    """
    @notice The total supply at the end of a past second, delegated or not.
    @param timepoint A timestamp before the current block's.
    @return uint256 The total supply after the last block at or before `timepoint`.
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    return self._lookup(_TOTAL_SUPPLY_KEY, timepoint)


@external
@view
def num_checkpoints(account: address) -> uint256:
    """
    @notice The length of `account`'s voting power history.
    @param account The delegate.
    @return uint256 The number of checkpoints.
    """
    return self._checkpoint_counts[convert(account, uint256)]


@external
@view
def checkpoints(account: address, index: uint256) -> Checkpoint:
    """
    @notice One entry of `account`'s voting power history.
    @param account The delegate.
    @param index The checkpoint's position, below `num_checkpoints(account)`.
    @return Checkpoint The time it took effect and the votes from then on.
    """
    key: uint256 = convert(account, uint256)
    assert index < self._checkpoint_counts[key], "votes: checkpoint index out of range"
    packed: uint256 = self._checkpoints[key][index]
    return Checkpoint(
        from_timestamp=convert(packed >> _VOTES_BITS, uint48),
        votes=convert(packed & _VOTES_MASK, uint208),
    )


@external
@view
def clock() -> uint48:
    """
    @notice The EIP-6372 clock: the current block's timestamp.
    @return uint48 The current block's timestamp.
    """
    return convert(block.timestamp, uint48)


@external
@view
def CLOCK_MODE() -> String[29]:
    """
    @notice The EIP-6372 description of `clock`.
    @return String Checkpoints are keyed by block timestamp.
    """
    return "mode=timestamp"


@internal
def _transfer_voting_units(owner: address, to: address, amount: uint256):
    """
    @dev Records the move of `amount` tokens from `owner` to `to`;
         the zero address stands for a mint (`owner`) or a burn (`to`).
         Call it after the `erc20` balances have changed.
    @param owner The sender, or zero on a mint.
    @param to The receiver, or zero on a burn.
    @param amount The number of tokens moved.
    """
    if owner == empty(address) or to == empty(address):
        supply: uint256 = erc20.totalSupply
        assert supply <= _VOTES_MASK, "votes: total supply exceeds checkpoint range"
        self._push(_TOTAL_SUPPLY_KEY, supply)
    self._move_delegate_votes(self.delegates[owner], self.delegates[to], amount)


@internal
def _delegate(account: address, delegatee: address):
    """
    @dev Points `account`'s voting power at `delegatee` and moves its
         whole balance over from the previous delegate.
    @param account The delegator.
    @param delegatee The new delegate.
    """
    previous: address = self.delegates[account]
    self.delegates[account] = delegatee
    log DelegateChanged(delegator=account, from_delegate=previous, to_delegate=delegatee)
    self._move_delegate_votes(previous, delegatee, erc20.balanceOf[account])


@internal
def _move_delegate_votes(source: address, destination: address, amount: uint256):
    """
    @dev Moves `amount` votes between delegates; undelegated balances sit
         with the zero address, which is not tracked.
    @param source The delegate that loses votes.
    @param destination The delegate that gains votes.
    @param amount The number of votes.
    """
    if source == destination or amount == 0:
        return
    if source != empty(address):
        self._write_votes(source, self._latest(convert(source, uint256)) - amount)
    if destination != empty(address):
        self._write_votes(destination, self._latest(convert(destination, uint256)) + amount)


@internal
def _write_votes(delegate: address, new_votes: uint256):
    """
    @dev Checkpoints `delegate`'s new votes and logs the change.
    @param delegate The delegate.
    @param new_votes Its votes from this block on.
    """
    key: uint256 = convert(delegate, uint256)
    previous: uint256 = self._latest(key)
    self._push(key, new_votes)
    log DelegateVotesChanged(delegate=delegate, previous_votes=previous, new_votes=new_votes)


@internal
def _push(key: uint256, amount: uint256):
    """
    @dev Records `amount` in history `key` from this second on; a second
         write at the same timestamp replaces that checkpoint.
    @param key The history: an account, or `_TOTAL_SUPPLY_KEY`.
    @param amount The new value, at most `_VOTES_MASK`.
    """
    count: uint256 = self._checkpoint_counts[key]
    packed: uint256 = (convert(convert(block.timestamp, uint48), uint256) << _VOTES_BITS) | amount
    if count != 0 and self._checkpoints[key][count - 1] >> _VOTES_BITS == block.timestamp:
        self._checkpoints[key][count - 1] = packed
        return
    self._checkpoints[key][count] = packed
    self._checkpoint_counts[key] = count + 1


@internal
@view
def _latest(key: uint256) -> uint256:
    """
    @dev The newest value in history `key`.
    @param key The history: an account, or `_TOTAL_SUPPLY_KEY`.
    @return uint256 The value now, zero for an empty history.
    """
    count: uint256 = self._checkpoint_counts[key]
    if count == 0:
        return 0
    return self._checkpoints[key][count - 1] & _VOTES_MASK


@internal
@view
def _lookup(key: uint256, timepoint: uint256) -> uint256:
    """
    @dev Binary search for the last checkpoint of history `key` taken
         at or before `timepoint`.
    @param key The history: an account, or `_TOTAL_SUPPLY_KEY`.
    @param timepoint The timestamp to look up.
    @return uint256 The value at the end of `timepoint`.
    """
    low: uint256 = 0
    high: uint256 = self._checkpoint_counts[key]
    for _: uint256 in range(_MAX_SEARCH_STEPS):
        if low >= high:
            break
        middle: uint256 = unsafe_div(low + high, 2)
        if self._checkpoints[key][middle] >> _VOTES_BITS > timepoint:
            high = middle
        else:
            low = middle + 1
    if high == 0:
        return 0
    return self._checkpoints[key][high - 1] & _VOTES_MASK

# pragma version ~=0.4.3
"""
@title Tessera escrow
@custom:contract-name escrow
@license Apache-2.0
@notice Clients' deposits, committed per channel (client, node): a node
        redeems only from its own channel, so no two nodes are ever
        promised the same tokens. A client signs an EIP-712 `Voucher`
        over the cumulative amount it authorises one node to take; the
        node later redeems up to that amount, never more and never the
        same part twice. Funds leave a channel (withdrawn, or moved to
        another channel) only after `withdrawal_delay`, longer than an
        epoch, so a node always has time to redeem what the client
        already signed.
@dev A module: `settlement.vy` initializes it and owns its parameters.
"""

from ethereum.ercs import IERC20
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

uses: eip712_domain_separator


_VOUCHER_TYPE_HASH: constant(bytes32) = keccak256(
    "Voucher(address client,address node,uint256 amount)"
)


struct Redemption:
    client: address
    signed_amount: uint256
    amount: uint256
    signature: Bytes[65]


struct Withdrawal:
    amount: uint256
    available_at: uint256  # with the delay of the time of the request
    requested_at: uint256


token: public(IERC20)
withdrawal_delay: public(uint256)
channels: HashMap[address, HashMap[address, uint256]]  # client -> node -> balance
withdrawals: public(HashMap[address, HashMap[address, Withdrawal]])  # client -> node
redeemed: public(HashMap[address, HashMap[address, uint256]])


event Deposited:
    client: indexed(address)
    node: indexed(address)
    amount: uint256
    balance: uint256


event WithdrawalRequested:
    client: indexed(address)
    node: indexed(address)
    amount: uint256
    available_at: uint256


event Withdrawn:
    client: indexed(address)
    node: indexed(address)
    amount: uint256


event Moved:
    client: indexed(address)
    from_node: indexed(address)
    to_node: indexed(address)
    amount: uint256


event VoucherRedeemed:
    client: indexed(address)
    node: indexed(address)
    amount: uint256
    cumulative: uint256


@deploy
def __init__(token: IERC20, withdrawal_delay: uint256):
    """
    @dev Fixes the token that deposits are made in.
    @param token The ERC-20 every payment is made in.
    @param withdrawal_delay Seconds a withdrawal waits.
    """
    assert token.address != empty(address), "escrow: zero token"
    self.token = token
    self.withdrawal_delay = withdrawal_delay


@external
def deposit(node: address, amount: uint256):
    """
    @notice Moves `amount` of the caller's tokens into its channel to
            `node`; approve this contract for at least `amount` first.
    @param node The node that may redeem the caller's vouchers from it.
    @param amount The amount in the token's smallest unit.
    """
    assert node != empty(address), "escrow: zero node"
    assert amount != 0, "escrow: zero amount"
    self.channels[msg.sender][node] += amount
    # checks-effects-interactions; snekmate's erc20 reverts on a short allowance or balance
    assert extcall self.token.transferFrom(msg.sender, self, amount, default_return_value=True), (
        "escrow: transfer failed"
    )
    log Deposited(
        client=msg.sender, node=node, amount=amount, balance=self.channels[msg.sender][node]
    )


@external
def request_withdrawal(node: address, amount: uint256):
    """
    @notice Starts the delay after which `amount` can leave the caller's
            channel to `node` (withdrawn, or moved to another channel).
            A new request replaces the channel's previous one and
            restarts the delay; other channels are untouched.
    @param node The node of the channel.
    @param amount The amount, at most the channel's balance.
    """
    assert amount != 0, "escrow: zero amount"
    assert amount <= self.channels[msg.sender][node], "escrow: exceeds channel balance"
    available_at: uint256 = block.timestamp + self.withdrawal_delay
    self.withdrawals[msg.sender][node] = Withdrawal(
        amount=amount, available_at=available_at, requested_at=block.timestamp
    )
    log WithdrawalRequested(
        client=msg.sender, node=node, amount=amount, available_at=available_at
    )


@external
def withdraw(node: address) -> uint256:
    """
    @notice Pays out the channel's requested withdrawal once its delay
            is over.
    @dev Pays what is left of the request after redemptions made during
         the delay, so a withdrawal never takes redeemable funds.
    @param node The node of the channel.
    @return uint256 The amount paid.
    """
    amount: uint256 = self._release(msg.sender, node)
    if amount != 0:
        assert extcall self.token.transfer(msg.sender, amount, default_return_value=True), (
            "escrow: transfer failed"
        )
    log Withdrawn(client=msg.sender, node=node, amount=amount)
    return amount


@external
def move(from_node: address, to_node: address) -> uint256:
    """
    @notice Moves the requested withdrawal of the caller's channel to
            `from_node`, once its delay is over, into its channel to
            `to_node`, which may redeem it at once.
    @dev The same rules as `withdraw` (and the same amount), without the
         token leaving escrow; `withdraw` then `deposit` does the same.
    @param from_node The node of the channel the funds leave.
    @param to_node The node of the channel they join.
    @return uint256 The amount moved.
    """
    assert to_node != empty(address), "escrow: zero node"
    assert to_node != from_node, "escrow: same channel"
    amount: uint256 = self._release(msg.sender, from_node)
    self.channels[msg.sender][to_node] += amount
    log Moved(client=msg.sender, from_node=from_node, to_node=to_node, amount=amount)
    return amount


@external
@view
def channel_balance(client: address, node: address) -> uint256:
    """
    @notice What `node` can still redeem from `client`'s channel.
    @param client The client.
    @param node The node.
    @return uint256 The channel's balance, a pending withdrawal included.
    """
    return self.channels[client][node]


@external
@view
def withdrawal_available_at(client: address, node: address) -> uint256:
    """
    @notice When the pending withdrawal of a channel can be paid out.
    @dev The longer of the delay at the request and the current one:
         governance can lengthen a pending withdrawal's wait (to keep
         nodes ahead of it), never shorten it.
    @param client The client.
    @param node The node of the channel.
    @return uint256 A timestamp (0: nothing requested).
    """
    request: Withdrawal = self.withdrawals[client][node]
    if request.amount == 0:
        return 0
    return self._available_at(request)


@external
@view
def voucher_digest(client: address, node: address, amount: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a client signs to authorise `node`.
    @param client The paying client.
    @param node The node the voucher is for.
    @param amount The cumulative amount authorised.
    @return bytes32 The digest.
    """
    return self._voucher_digest(client, node, amount)


@external
@view
def voucher_signer(
    client: address, node: address, amount: uint256, signature: Bytes[65]
) -> address:
    """
    @notice Who signed a voucher, by the rules `_redeem` applies: nodes
            ask before they serve against it, so what they accept is
            exactly what redemption accepts.
    @dev Reverts where `_redeem` would (a high `s`, an invalid signature).
    @param client The paying client.
    @param node The node the voucher is for.
    @param amount The cumulative amount authorised.
    @param signature The client's 65-byte (or 64-byte EIP-2098) signature.
    @return address The signer (the zero address for other lengths).
    """
    return ecdsa._recover_sig(self._voucher_digest(client, node, amount), signature)


@internal
def _release(client: address, node: address) -> uint256:
    """
    @dev Ends the channel's withdrawal request once its delay is over and
         takes what is left of it out of the channel.
    @return uint256 The amount taken out.
    """
    request: Withdrawal = self.withdrawals[client][node]
    assert request.amount != 0, "escrow: no withdrawal requested"
    assert block.timestamp >= self._available_at(request), "escrow: withdrawal delay not over"
    amount: uint256 = min(request.amount, self.channels[client][node])
    self.withdrawals[client][node] = empty(Withdrawal)
    self.channels[client][node] -= amount
    return amount


@internal
@view
def _available_at(request: Withdrawal) -> uint256:
    return max(request.available_at, request.requested_at + self.withdrawal_delay)


@internal
@view
def _voucher_digest(client: address, node: address, amount: uint256) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(_VOUCHER_TYPE_HASH, client, node, amount))
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
def _redeem(node: address, redemption: Redemption) -> uint256:
    """
    @dev Takes up to `redemption.amount` (cumulative) from the client's
         channel to `node`, and nothing from its other channels, checking
         the client's signature over `signed_amount`.
    @return uint256 The amount newly redeemed.
    """
    client: address = redemption.client
    already: uint256 = self.redeemed[client][node]
    assert redemption.amount <= redemption.signed_amount, "escrow: voucher exceeded"
    assert redemption.amount > already, "escrow: voucher already redeemed"
    digest: bytes32 = self._voucher_digest(client, node, redemption.signed_amount)
    signer: address = ecdsa._recover_sig(digest, redemption.signature)
    assert client != empty(address) and signer == client, "escrow: bad voucher signature"
    fresh: uint256 = redemption.amount - already
    assert self.channels[client][node] >= fresh, "escrow: channel balance too low"
    self.channels[client][node] -= fresh
    self.redeemed[client][node] = redemption.amount
    log VoucherRedeemed(client=client, node=node, amount=fresh, cumulative=redemption.amount)
    return fresh

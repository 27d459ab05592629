# pragma version ~=0.4.3
"""
@title Tessera settlement
@custom:contract-name settlement
@license Apache-2.0
@notice Payable AI: once per epoch a node redeems its clients' vouchers
        and posts, in one transaction, the Merkle root of what it owes
        each recipient (cumulative over its epochs) with the CID of the
        bundle of receipts behind it. After the challenge window each
        recipient claims its cumulative amount with one proof.
@dev Leaves are `keccak256(keccak256(abi_encode(node, recipient, cumulative)))`
     and inner nodes hash sorted pairs (snekmate's `merkle_proof_verification`).
     Whatever a root says, a node's claims can never exceed what it redeemed.
     The owner (the governance timelock once handed over) sets the fee split
     and the epoch, challenge and withdrawal periods.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.utils import eip712_domain_separator
from snekmate.utils import merkle_proof_verification

import escrow

initializes: ownable
initializes: eip712_domain_separator
initializes: escrow[eip712_domain_separator := eip712_domain_separator]

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    eip712_domain_separator.eip712Domain,
    escrow.token,
    escrow.withdrawal_delay,
    escrow.withdrawals,
    escrow.redeemed,
    escrow.deposit,
    escrow.request_withdrawal,
    escrow.withdraw,
    escrow.move,
    escrow.channel_balance,
    escrow.withdrawal_available_at,
    escrow.voucher_digest,
    escrow.voucher_signer,
)


_BPS: constant(uint256) = 10_000
_MAX_REDEMPTIONS: constant(uint256) = 256
_MAX_PROOF: constant(uint256) = 64
_MAX_PERIOD: constant(uint256) = 10 * 365 * 86_400  # keeps every deadline far from overflow


struct FeeSplit:
    node_bps: uint256
    owner_bps: uint256
    contributors_bps: uint256
    treasury_bps: uint256
    treasury: address


struct Epoch:
    root: bytes32
    total: uint256
    bundle_cid: String[128]
    receipt_count: uint256
    redeemed: uint256
    posted_at: uint256
    split: FeeSplit
    epoch_length: uint256  # the periods in force when it was posted
    challenge_period: uint256


fee_split: public(FeeSplit)
epoch_length: public(uint256)
challenge_period: public(uint256)
epoch_count: public(HashMap[address, uint256])
epochs: public(HashMap[address, HashMap[uint256, Epoch]])
node_redeemed: public(HashMap[address, uint256])
node_paid: public(HashMap[address, uint256])
claimed: public(HashMap[address, HashMap[address, uint256]])


event EpochPosted:
    node: indexed(address)
    epoch: indexed(uint256)
    root: bytes32
    total: uint256
    redeemed: uint256
    receipt_count: uint256
    bundle_cid: String[128]


event Claimed:
    node: indexed(address)
    recipient: indexed(address)
    epoch: uint256
    amount: uint256
    cumulative: uint256


event FeeSplitChanged:
    node_bps: uint256
    owner_bps: uint256
    contributors_bps: uint256
    treasury_bps: uint256
    treasury: address


event PeriodsChanged:
    epoch_length: uint256
    challenge_period: uint256
    withdrawal_delay: uint256


@deploy
def __init__(
    token: IERC20,
    split: FeeSplit,
    epoch_length: uint256,
    challenge_period: uint256,
    withdrawal_delay: uint256,
):
    """
    @dev The deployer owns the parameters until it hands them to governance.
    @param token The ERC-20 every payment is made in.
    @param split The initial fee split and treasury.
    @param epoch_length Minimum seconds between a node's epochs.
    @param challenge_period Seconds after posting before claims open.
    @param withdrawal_delay Seconds a withdrawal from a channel waits.
    """
    ownable.__init__()
    eip712_domain_separator.__init__("Tessera Settlement", "1")
    escrow.__init__(token, withdrawal_delay)
    self._set_fee_split(split)
    self._set_periods(epoch_length, challenge_period, withdrawal_delay)


@external
def post_epoch(
    epoch: uint256,
    root: bytes32,
    total: uint256,
    bundle_cid: String[128],
    receipt_count: uint256,
    split: FeeSplit,
    redemptions: DynArray[escrow.Redemption, _MAX_REDEMPTIONS],
):
    """
    @notice Settles the caller's next epoch: redeems its vouchers and
            posts the root of its cumulative payouts.
    @param epoch The caller's next epoch number (0, 1, 2, ...).
    @param root The Merkle root of cumulative payouts per recipient.
    @param total The sum of every leaf's cumulative amount.
    @param bundle_cid The CID of the epoch's bundle of receipts.
    @param receipt_count How many receipts the bundle holds.
    @param split The fee split the payouts were computed with; must be
           the current one, so a governance change mid-settlement is
           caught instead of paid under the wrong split.
    @param redemptions The vouchers redeemed, at most one per client.
    """
    expected: uint256 = self.epoch_count[msg.sender]
    assert epoch >= expected, "settlement: epoch already posted"
    assert epoch == expected, "settlement: epoch out of order"
    previous: Epoch = empty(Epoch)
    if epoch != 0:
        previous = self.epochs[msg.sender][epoch - 1]
        assert block.timestamp >= self._next_epoch_at(previous), "settlement: epoch not over"
    assert root != empty(bytes32), "settlement: empty root"
    assert len(bundle_cid) != 0, "settlement: empty bundle cid"
    assert keccak256(abi_encode(split)) == keccak256(abi_encode(self.fee_split)), (
        "settlement: fee split changed"
    )

    fresh: uint256 = 0
    for redemption: escrow.Redemption in redemptions:
        fresh += escrow._redeem(msg.sender, redemption)
    redeemed: uint256 = self.node_redeemed[msg.sender] + fresh
    assert total >= previous.total, "settlement: total decreased"
    assert total <= redeemed, "settlement: payouts exceed redeemed"

    self.node_redeemed[msg.sender] = redeemed
    self.epoch_count[msg.sender] = epoch + 1
    self.epochs[msg.sender][epoch] = Epoch(
        root=root,
        total=total,
        bundle_cid=bundle_cid,
        receipt_count=receipt_count,
        redeemed=fresh,
        posted_at=block.timestamp,
        split=split,
        epoch_length=self.epoch_length,
        challenge_period=self.challenge_period,
    )
    log EpochPosted(
        node=msg.sender,
        epoch=epoch,
        root=root,
        total=total,
        redeemed=fresh,
        receipt_count=receipt_count,
        bundle_cid=bundle_cid,
    )


@external
def claim(node: address, epoch: uint256, cumulative: uint256, proof: DynArray[bytes32, _MAX_PROOF]):
    """
    @notice Pays the caller what `node` owes it through `epoch`, less
            what it already claimed.
    @param node The node whose payouts are claimed.
    @param epoch A posted epoch of that node whose challenge window is over.
    @param cumulative The caller's cumulative amount in that epoch's root.
    @param proof The Merkle proof of the caller's leaf.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    posted: Epoch = self.epochs[node][epoch]
    assert block.timestamp >= self._claimable_at(posted), "settlement: challenge window open"
    assert merkle_proof_verification._verify(
        proof, posted.root, self._leaf(node, msg.sender, cumulative)
    ), "settlement: invalid proof"
    already: uint256 = self.claimed[node][msg.sender]
    assert cumulative > already, "settlement: nothing to claim"
    amount: uint256 = cumulative - already
    paid: uint256 = self.node_paid[node] + amount
    assert paid <= self.node_redeemed[node], "settlement: exceeds redeemed"

    self.claimed[node][msg.sender] = cumulative
    self.node_paid[node] = paid
    assert extcall escrow.token.transfer(msg.sender, amount, default_return_value=True), (
        "settlement: transfer failed"
    )
    log Claimed(node=node, recipient=msg.sender, epoch=epoch, amount=amount, cumulative=cumulative)


@external
def set_fee_split(split: FeeSplit):
    """
    @notice Changes how future epochs split each answer's price.
    @param split Basis points summing to 10,000, and a treasury.
    """
    ownable._check_owner()
    self._set_fee_split(split)


@external
def set_periods(epoch_length: uint256, challenge_period: uint256, withdrawal_delay: uint256):
    """
    @notice Changes the epoch length, challenge window and withdrawal delay.
    @param epoch_length Minimum seconds between a node's epochs; not zero.
    @param challenge_period Seconds after posting before claims open.
    @param withdrawal_delay Seconds a withdrawal waits; above `epoch_length`
           so a node can always redeem before the funds leave.
    """
    ownable._check_owner()
    self._set_periods(epoch_length, challenge_period, withdrawal_delay)


@external
@view
def next_epoch_at(node: address) -> uint256:
    """
    @notice When `node` may post its next epoch.
    @dev The shorter of the epoch length at its last post and the current
         one, so a change never lets a pending withdrawal (whose delay is
         above the current epoch length) overtake the node's next post.
    @param node The node.
    @return uint256 A timestamp (0 before its first epoch).
    """
    count: uint256 = self.epoch_count[node]
    if count == 0:
        return 0
    return self._next_epoch_at(self.epochs[node][count - 1])


@external
@view
def claimable_at(node: address, epoch: uint256) -> uint256:
    """
    @notice When claims against a posted epoch open.
    @dev The longer of the challenge period at posting and the current
         one: governance can extend a window that is open, never cut it.
    @param node The node.
    @param epoch One of its posted epochs.
    @return uint256 A timestamp.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    return self._claimable_at(self.epochs[node][epoch])


@external
@pure
def leaf(node: address, recipient: address, cumulative: uint256) -> bytes32:
    """
    @notice The Merkle leaf of one recipient's cumulative payout.
    @param node The paying node.
    @param recipient The recipient.
    @param cumulative The cumulative amount owed.
    @return bytes32 The double-hashed leaf.
    """
    return self._leaf(node, recipient, cumulative)


@internal
@view
def _next_epoch_at(previous: Epoch) -> uint256:
    return previous.posted_at + min(previous.epoch_length, self.epoch_length)


@internal
@view
def _claimable_at(posted: Epoch) -> uint256:
    return posted.posted_at + max(posted.challenge_period, self.challenge_period)


@internal
@pure
def _leaf(node: address, recipient: address, cumulative: uint256) -> bytes32:
    # double hashed against second pre-image attacks
    return keccak256(keccak256(abi_encode(node, recipient, cumulative)))


@internal
def _set_fee_split(split: FeeSplit):
    assert split.node_bps + split.owner_bps + split.contributors_bps + split.treasury_bps == _BPS, (
        "settlement: split must sum to 10000"
    )
    assert split.treasury != empty(address), "settlement: zero treasury"
    self.fee_split = split
    log FeeSplitChanged(
        node_bps=split.node_bps,
        owner_bps=split.owner_bps,
        contributors_bps=split.contributors_bps,
        treasury_bps=split.treasury_bps,
        treasury=split.treasury,
    )


@internal
def _set_periods(epoch_length: uint256, challenge_period: uint256, withdrawal_delay: uint256):
    assert epoch_length != 0, "settlement: zero epoch length"
    assert max(epoch_length, max(challenge_period, withdrawal_delay)) <= _MAX_PERIOD, (
        "settlement: period too long"
    )
    assert withdrawal_delay > epoch_length, "settlement: withdrawal delay too short"
    self.epoch_length = epoch_length
    self.challenge_period = challenge_period
    escrow.withdrawal_delay = withdrawal_delay
    log PeriodsChanged(
        epoch_length=epoch_length, challenge_period=challenge_period, withdrawal_delay=withdrawal_delay
    )

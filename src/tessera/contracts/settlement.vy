# pragma version ~=0.4.3
"""
@title Tessera settlement
@custom:contract-name settlement
@license Apache-2.0
@notice Payable AI: once per epoch a node redeems its clients' vouchers
        and posts, in one transaction, the Merkle root of what it owes
        each recipient (cumulative over its epochs) with the CID of the
        bundle of receipts behind it. After the challenge window each
        recipient claims its cumulative amount with one proof. A
        challenge (from the disputes contract) freezes the node's claims
        while it is open; a proven fault voids the epoch and every later
        one of the node, ejects it, and refunds each voided epoch's
        clients what was redeemed from them.
@dev The payout root is a sparse Merkle tree keyed by recipient
     (`payout_state.vy`), and each receipt's leaf in the receipts root
     commits to the payout state after it, so the payout prover can show
     on chain that a root does not follow from the receipts. Whatever a
     root says, a node's claims can never exceed what it redeemed.
     The owner (the governance timelock once handed over) sets the fee split
     and the epoch, challenge and withdrawal periods, and links the disputes
     contract once.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.utils import eip712_domain_separator

import escrow
import payout_state

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
_PAGE: constant(uint256) = 128  # epochs per `claimable_times` call
_MAX_PERIOD: constant(uint256) = 10 * 365 * 86_400  # keeps every deadline far from overflow


struct FeeSplit:
    node_bps: uint256
    owner_bps: uint256
    contributors_bps: uint256
    treasury_bps: uint256
    treasury: address
    validators_bps: uint256
    validators: address  # the disputes contract: the validators' pool is a named recipient


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
    receipts_root: bytes32  # Merkle root of the bundle's receipts, which challenges prove against
    posted_block: uint256  # the hash of the next block seeds the validators' sample
    refund_hash: bytes32  # hash chain over (client, fresh amount) of each redemption, in order


struct Refund:
    client: address
    amount: uint256


fee_split: public(FeeSplit)
epoch_length: public(uint256)
challenge_period: public(uint256)
epoch_count: public(HashMap[address, uint256])
epochs: public(HashMap[address, HashMap[uint256, Epoch]])
node_redeemed: public(HashMap[address, uint256])
node_paid: public(HashMap[address, uint256])
claimed: public(HashMap[address, HashMap[address, uint256]])
disputes: public(address)
frozen: public(HashMap[address, uint256])  # open challenges against the node
voided_from: public(HashMap[address, uint256])  # first voided epoch + 1; 0: none
refunded: public(HashMap[address, HashMap[uint256, bool]])


event EpochPosted:
    node: indexed(address)
    epoch: indexed(uint256)
    root: bytes32
    total: uint256
    redeemed: uint256
    receipt_count: uint256
    bundle_cid: String[128]
    receipts_root: bytes32


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
    validators_bps: uint256
    validators: address


event DisputesLinked:
    disputes: indexed(address)


event Frozen:
    node: indexed(address)
    open_challenges: uint256


event Voided:
    node: indexed(address)
    from_epoch: uint256


event Refunded:
    node: indexed(address)
    epoch: indexed(uint256)
    client: indexed(address)
    amount: uint256


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
    receipts_root: bytes32,
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
    @param receipt_count How many receipts the bundle holds; not zero.
    @param receipts_root The Merkle root of the bundle's receipts.
    @param split The fee split the payouts were computed with; must be
           the current one, so a governance change mid-settlement is
           caught instead of paid under the wrong split.
    @param redemptions The vouchers redeemed, at most one per client.
    """
    assert self.voided_from[msg.sender] == 0, "settlement: node ejected"
    expected: uint256 = self.epoch_count[msg.sender]
    assert epoch >= expected, "settlement: epoch already posted"
    assert epoch == expected, "settlement: epoch out of order"
    previous: Epoch = empty(Epoch)
    if epoch != 0:
        previous = self.epochs[msg.sender][epoch - 1]
        assert block.timestamp >= self._next_epoch_at(previous), "settlement: epoch not over"
    assert root != empty(bytes32), "settlement: empty root"
    assert len(bundle_cid) != 0, "settlement: empty bundle cid"
    assert receipts_root != empty(bytes32), "settlement: empty receipts root"
    assert receipt_count != 0, "settlement: no receipts"
    assert keccak256(abi_encode(split)) == keccak256(abi_encode(self.fee_split)), (
        "settlement: fee split changed"
    )

    fresh: uint256 = 0
    refund_hash: bytes32 = empty(bytes32)
    for redemption: escrow.Redemption in redemptions:
        amount: uint256 = escrow._redeem(msg.sender, redemption)
        fresh += amount
        refund_hash = keccak256(abi_encode(refund_hash, redemption.client, amount))
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
        receipts_root=receipts_root,
        posted_block=block.number,
        refund_hash=refund_hash,
    )
    log EpochPosted(
        node=msg.sender,
        epoch=epoch,
        root=root,
        total=total,
        redeemed=fresh,
        receipt_count=receipt_count,
        bundle_cid=bundle_cid,
        receipts_root=receipts_root,
    )


@external
def claim(
    node: address,
    epoch: uint256,
    cumulative: uint256,
    proof: DynArray[bytes32, payout_state.MAX_PROOF],
):
    """
    @notice Pays the caller what `node` owes it through `epoch`, less
            what it already claimed.
    @param node The node whose payouts are claimed.
    @param epoch A posted epoch of that node whose challenge window is over.
    @param cumulative The caller's cumulative amount in that epoch's root.
    @param proof The sparse Merkle proof of the caller's leaf.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    assert not self._is_voided(node, epoch), "settlement: epoch voided"
    assert self.frozen[node] == 0, "settlement: claims frozen by a challenge"
    posted: Epoch = self.epochs[node][epoch]
    assert block.timestamp >= self._claimable_at(posted), "settlement: challenge window open"
    assert cumulative != 0, "settlement: nothing to claim"
    assert payout_state._root_of(node, msg.sender, cumulative, proof) == posted.root, (
        "settlement: invalid proof"
    )
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
def refund(node: address, epoch: uint256, refunds: DynArray[Refund, _MAX_REDEMPTIONS]):
    """
    @notice Pays back, once, every client of a voided epoch what the
            node redeemed from it in that epoch; anyone may call it.
    @dev The list must be the epoch's redemptions in order, each with its
         fresh amount: its hash chain must equal the one stored at posting.
    @param node The ejected node.
    @param epoch One of its voided epochs.
    @param refunds (client, amount) per redemption, in posting order.
    """
    assert self._is_voided(node, epoch), "settlement: epoch not voided"
    assert not self.refunded[node][epoch], "settlement: already refunded"
    hashed: bytes32 = empty(bytes32)
    total: uint256 = 0
    for each: Refund in refunds:
        hashed = keccak256(abi_encode(hashed, each.client, each.amount))
        total += each.amount
    assert hashed == self.epochs[node][epoch].refund_hash, (
        "settlement: refunds do not match the epoch"
    )
    # claims paid through a later epoch before a window was reopened cannot be paid back twice
    assert self.node_paid[node] + total <= self.node_redeemed[node], (
        "settlement: refunds exceed what is left"
    )

    self.refunded[node][epoch] = True
    self.node_redeemed[node] -= total
    for each: Refund in refunds:
        assert extcall escrow.token.transfer(each.client, each.amount, default_return_value=True), (
            "settlement: transfer failed"
        )
        log Refunded(node=node, epoch=epoch, client=each.client, amount=each.amount)


@external
def link_disputes(disputes: address):
    """
    @notice Names, once, the disputes contract that may freeze claims and
            void epochs.
    @param disputes The disputes contract; not zero.
    """
    ownable._check_owner()
    assert self.disputes == empty(address), "settlement: disputes already linked"
    assert disputes != empty(address), "settlement: zero disputes"
    self.disputes = disputes
    log DisputesLinked(disputes=disputes)


@external
def freeze(node: address):
    """
    @notice Stops claims against `node` while one more challenge is open.
    @param node The challenged node.
    """
    self._check_disputes()
    self.frozen[node] += 1
    log Frozen(node=node, open_challenges=self.frozen[node])


@external
def unfreeze(node: address):
    """
    @notice Counts one challenge against `node` closed; claims resume
            once none is open.
    @param node The node whose challenge was resolved.
    """
    self._check_disputes()
    assert self.frozen[node] != 0, "settlement: no open challenge"
    self.frozen[node] -= 1
    log Frozen(node=node, open_challenges=self.frozen[node])


@external
def void_from(node: address, epoch: uint256):
    """
    @notice Voids `epoch` of `node` and every later one, and ejects the
            node: it posts no more epochs.
    @dev An earlier fault found later moves the start back, never forward.
    @param node The slashed node.
    @param epoch The epoch the fault was proven in.
    """
    self._check_disputes()
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    current: uint256 = self.voided_from[node]
    if current == 0 or epoch + 1 < current:
        self.voided_from[node] = epoch + 1
    log Voided(node=node, from_epoch=self.voided_from[node] - 1)


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
@view
def claimable_times(node: address, first: uint256, count: uint256) -> DynArray[uint256, _PAGE]:
    """
    @notice When claims open for `count` of a node's epochs from `first`.
    @dev One call for a page of epochs instead of one per epoch: an account's
         earnings page shows every epoch's status.
    @param node The node.
    @param first Its first epoch in the page.
    @param count How many, at most `_PAGE`.
    @return DynArray[uint256, _PAGE] A timestamp per epoch, as `claimable_at`.
    """
    assert count <= _PAGE, "settlement: page too long"
    assert first + count <= self.epoch_count[node], "settlement: unknown epoch"
    times: DynArray[uint256, _PAGE] = []
    current: uint256 = self.challenge_period
    for i: uint256 in range(count, bound=_PAGE):
        # two fields, not the whole epoch (its CID is several slots): as `_claimable_at`
        posted_at: uint256 = self.epochs[node][first + i].posted_at
        times.append(posted_at + max(self.epochs[node][first + i].challenge_period, current))
    return times


@external
@view
def is_voided(node: address, epoch: uint256) -> bool:
    """
    @notice Whether a posted epoch of `node` was voided by a proven fault.
    @param node The node.
    @param epoch The epoch.
    @return bool True if voided (false for unposted epochs).
    """
    return self._is_voided(node, epoch)


@external
@view
def epoch_receipts_root(node: address, epoch: uint256) -> bytes32:
    """
    @notice The Merkle root of the receipts behind a posted epoch.
    @param node The node.
    @param epoch One of its posted epochs.
    @return bytes32 The receipts root.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    return self.epochs[node][epoch].receipts_root


@external
@view
def epoch_receipt_count(node: address, epoch: uint256) -> uint256:
    """
    @notice How many receipts a posted epoch's bundle holds.
    @param node The node.
    @param epoch One of its posted epochs.
    @return uint256 The receipt count.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    return self.epochs[node][epoch].receipt_count


@external
@view
def epoch_payouts(node: address, epoch: uint256) -> (bytes32, uint256):
    """
    @notice The payout state a posted epoch ends in.
    @param node The node.
    @param epoch One of its posted epochs.
    @return bytes32 The payout root.
    @return uint256 The sum of its cumulative amounts.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    posted: Epoch = self.epochs[node][epoch]
    return posted.root, posted.total


@external
@view
def epoch_split(node: address, epoch: uint256) -> FeeSplit:
    """
    @notice The fee split a posted epoch was settled under.
    @param node The node.
    @param epoch One of its posted epochs.
    @return FeeSplit The split.
    """
    assert epoch < self.epoch_count[node], "settlement: unknown epoch"
    return self.epochs[node][epoch].split


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
    return payout_state._leaf(node, recipient, cumulative)


@internal
@view
def _next_epoch_at(previous: Epoch) -> uint256:
    return previous.posted_at + min(previous.epoch_length, self.epoch_length)


@internal
@view
def _claimable_at(posted: Epoch) -> uint256:
    return posted.posted_at + max(posted.challenge_period, self.challenge_period)


@internal
@view
def _is_voided(node: address, epoch: uint256) -> bool:
    start: uint256 = self.voided_from[node]
    return start != 0 and epoch + 1 >= start and epoch < self.epoch_count[node]


@internal
@view
def _check_disputes():
    assert msg.sender == self.disputes, "settlement: caller is not disputes"


@internal
def _set_fee_split(split: FeeSplit):
    assert (
        split.node_bps
        + split.owner_bps
        + split.contributors_bps
        + split.treasury_bps
        + split.validators_bps
        == _BPS
    ), "settlement: split must sum to 10000"
    assert split.treasury != empty(address), "settlement: zero treasury"
    assert split.validators_bps == 0 or split.validators != empty(address), (
        "settlement: zero validators pool"
    )
    self.fee_split = split
    log FeeSplitChanged(
        node_bps=split.node_bps,
        owner_bps=split.owner_bps,
        contributors_bps=split.contributors_bps,
        treasury_bps=split.treasury_bps,
        treasury=split.treasury,
        validators_bps=split.validators_bps,
        validators=split.validators,
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

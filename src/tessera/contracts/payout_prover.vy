# pragma version ~=0.4.3
"""
@title Tessera payout prover
@custom:contract-name payout_prover
@license Apache-2.0
@notice Decides from evidence alone whether a node's payouts follow its
        receipts, so no committee is needed for them. Every receipt's
        leaf commits to the node's payout state after it (the payout
        root and total), so an epoch is a chain of states, one step per
        receipt: the state before, plus that receipt's price split as
        `tessera._payments.split` splits it. A challenger proves one wrong
        step, or a last state that is not the posted root; the disputes
        contract then slashes the node at once. As in an optimistic
        rollup that posts a state root per transaction, no bisection game
        is needed: the node committed to every intermediate state.
@dev The split of one receipt: each cut floored, the node gets the
     five-way remainder, the contributors' pool goes to the sources of
     positive weight pro rata, its remainder to the highest weight (the
     first on a tie), and to the treasury when there is none; the royalty
     goes to the version's owner in the policy, the treasury when it has
     none. A receipt no honest node signs (a price of 2**128 or more, a
     weight above 1,000,000 ppm, a source list whose arrays differ in
     length) is itself a fault, since its split could overflow or fail. Zero credits are skipped; each credit comes with a proof
     of its recipient's leaf against the state the previous credits left.
"""

import payout_state
import receipt_evidence

initializes: receipt_evidence


MAX_SOURCES: constant(uint256) = 64
MAX_CREDITS: constant(uint256) = MAX_SOURCES + 4
_BPS: constant(uint256) = 10_000
_WEIGHT_SCALE: constant(uint256) = 1_000_000
_MAX_PRICE: constant(uint256) = 2**128


struct FeeSplit:
    node_bps: uint256
    owner_bps: uint256
    contributors_bps: uint256
    treasury_bps: uint256
    treasury: address
    validators_bps: uint256
    validators: address


struct Attribution:  # the preimage of a receipt's attribution hash
    cids: DynArray[bytes32, MAX_SOURCES]
    contributors: DynArray[address, MAX_SOURCES]
    datanets: DynArray[uint256, MAX_SOURCES]
    weights: DynArray[uint256, MAX_SOURCES]


struct LeafUpdate:  # a recipient's amount before a credit, and its proof
    cumulative: uint256
    proof: DynArray[bytes32, payout_state.MAX_PROOF]


struct Credit:
    recipient: address
    amount: uint256


interface Settlement:
    def epoch_receipts_root(node: address, epoch: uint256) -> bytes32: view
    def epoch_receipt_count(node: address, epoch: uint256) -> uint256: view
    def epoch_payouts(node: address, epoch: uint256) -> (bytes32, uint256): view
    def epoch_split(node: address, epoch: uint256) -> FeeSplit: view


interface Policy:
    def royalty_owner(model_id: String[128], weights_digest: bytes32) -> address: view


interface Disputes:
    def slash_payouts(node: address, epoch: uint256, index: uint256, challenger: address) -> uint256: nonpayable


settlement: public(immutable(Settlement))
policy: public(immutable(Policy))
disputes: public(immutable(Disputes))


@deploy
def __init__(settlement_: Settlement, policy_: Policy, disputes_: Disputes, registry: address):
    """
    @param settlement_ The settlement whose epochs are proven against.
    @param policy_ The policy that names each model version's owner.
    @param disputes_ The disputes contract, which slashes what is proven.
    @param registry The registry: the verifying contract of every receipt.
    """
    receipt_evidence.__init__(registry)
    assert settlement_.address != empty(address), "prover: zero settlement"
    assert policy_.address != empty(address), "prover: zero policy"
    assert disputes_.address != empty(address), "prover: zero disputes"
    settlement = settlement_
    policy = policy_
    disputes = disputes_


@external
def prove_step(
    node: address,
    epoch: uint256,
    before: receipt_evidence.ReceiptEvidence,
    evidence: receipt_evidence.ReceiptEvidence,
    attribution: Attribution,
    updates: DynArray[LeafUpdate, MAX_CREDITS],
) -> uint256:
    """
    @notice Proves, with a bond (approve the disputes contract for its
            `min_bond` first), that the payout state a receipt commits to
            is not the state before it plus its split. Slashes at once.
    @param node The node.
    @param epoch One of its posted epochs, inside its challenge window.
    @param before The receipt before, with its proof (ignored for the
           first receipt, whose state before is the previous epoch's root).
    @param evidence The receipt whose step is wrong, with its proof.
    @param attribution The receipt's sources: its attribution hash's preimage.
    @param updates One per nonzero credit, in split order: the recipient's
           amount and proof against the state the credits before it left.
    @return uint256 The challenge's id.
    """
    root: bytes32 = staticcall settlement.epoch_receipts_root(node, epoch)
    assert evidence.index < staticcall settlement.epoch_receipt_count(node, epoch), (
        "disputes: unknown receipt"
    )
    assert receipt_evidence._in_root(evidence, root), "disputes: invalid receipt proof"
    state_root: bytes32 = empty(bytes32)
    state_total: uint256 = 0
    if evidence.index != 0:
        assert before.index + 1 == evidence.index, "disputes: not the receipt before"
        assert receipt_evidence._in_root(before, root), "disputes: invalid receipt proof"
        state_root = before.payout_root
        state_total = before.payout_total
    elif epoch != 0:
        state_root, state_total = staticcall settlement.epoch_payouts(node, epoch - 1)
    assert (
        keccak256(
            abi_encode(
                attribution.cids, attribution.contributors, attribution.datanets, attribution.weights
            )
        )
        == evidence.attribution_hash
    ), "disputes: attribution does not match the receipt"
    if not self._unpayable(evidence, attribution):
        credits: DynArray[Credit, MAX_CREDITS] = self._split(node, epoch, evidence, attribution)
        assert len(updates) == len(credits), "disputes: one leaf proof per credit"
        for i: uint256 in range(len(credits), bound=MAX_CREDITS):
            state_root = self._credit(state_root, node, credits[i], updates[i])
        state_total += evidence.price
        assert state_root != evidence.payout_root or state_total != evidence.payout_total, (
            "disputes: payouts follow the receipt"
        )
    return extcall disputes.slash_payouts(node, epoch, evidence.index, msg.sender)


@external
def prove_last(node: address, epoch: uint256, last: receipt_evidence.ReceiptEvidence) -> uint256:
    """
    @notice Proves, with a bond, that an epoch's posted payout root and
            total are not the state its last receipt commits to. Slashes
            at once.
    @param node The node.
    @param epoch One of its posted epochs, inside its challenge window.
    @param last The epoch's last receipt, with its proof.
    @return uint256 The challenge's id.
    """
    count: uint256 = staticcall settlement.epoch_receipt_count(node, epoch)
    assert last.index + 1 == count, "disputes: not the last receipt"
    assert receipt_evidence._in_root(
        last, staticcall settlement.epoch_receipts_root(node, epoch)
    ), "disputes: invalid receipt proof"
    posted_root: bytes32 = empty(bytes32)
    posted_total: uint256 = 0
    posted_root, posted_total = staticcall settlement.epoch_payouts(node, epoch)
    assert posted_root != last.payout_root or posted_total != last.payout_total, (
        "disputes: the posted root is the last receipt's"
    )
    return extcall disputes.slash_payouts(node, epoch, count, msg.sender)


@internal
@pure
def _unpayable(evidence: receipt_evidence.ReceiptEvidence, attribution: Attribution) -> bool:
    n: uint256 = len(attribution.weights)
    if evidence.price >= _MAX_PRICE or len(attribution.contributors) != n:
        return True
    for weight: uint256 in attribution.weights:
        if weight > _WEIGHT_SCALE:
            return True
    return False


@internal
@view
def _split(
    node: address,
    epoch: uint256,
    evidence: receipt_evidence.ReceiptEvidence,
    attribution: Attribution,
) -> DynArray[Credit, MAX_CREDITS]:
    split: FeeSplit = staticcall settlement.epoch_split(node, epoch)
    price: uint256 = evidence.price
    pool: uint256 = price * split.contributors_bps // _BPS
    royalty: uint256 = price * split.owner_bps // _BPS
    treasury_cut: uint256 = price * split.treasury_bps // _BPS
    validators_cut: uint256 = price * split.validators_bps // _BPS
    owner: address = staticcall policy.royalty_owner(evidence.model, evidence.model_digest)
    if owner == empty(address):
        owner = split.treasury

    credits: DynArray[Credit, MAX_CREDITS] = []
    fixed: Credit[4] = [
        Credit(recipient=node, amount=price - pool - royalty - treasury_cut - validators_cut),
        Credit(recipient=owner, amount=royalty),
        Credit(recipient=split.treasury, amount=treasury_cut),
        Credit(recipient=split.validators, amount=validators_cut),
    ]
    for each: Credit in fixed:
        if each.amount != 0:
            credits.append(each)

    total_weight: uint256 = 0
    top: uint256 = 0
    for i: uint256 in range(len(attribution.weights), bound=MAX_SOURCES):
        weight: uint256 = attribution.weights[i]
        if weight > attribution.weights[top]:  # the first of the highest weight
            top = i
        total_weight += weight
    if total_weight == 0:
        if pool != 0:
            credits.append(Credit(recipient=split.treasury, amount=pool))
        return credits
    remainder: uint256 = pool
    for i: uint256 in range(len(attribution.weights), bound=MAX_SOURCES):
        remainder -= pool * attribution.weights[i] // total_weight
    for i: uint256 in range(len(attribution.weights), bound=MAX_SOURCES):
        weight: uint256 = attribution.weights[i]
        if weight == 0:
            continue
        share: uint256 = pool * weight // total_weight
        if i == top:
            share += remainder
        if share != 0:
            credits.append(Credit(recipient=attribution.contributors[i], amount=share))
    return credits


@internal
@pure
def _credit(
    state_root: bytes32, node: address, credit: Credit, update: LeafUpdate
) -> bytes32:
    before: bytes32 = empty(bytes32)
    after: bytes32 = empty(bytes32)
    before, after = payout_state._roots(
        node, credit.recipient, update.cumulative, update.cumulative + credit.amount, update.proof
    )
    assert before == state_root, "disputes: leaf proof does not match the state"
    return after

# pragma version ~=0.4.3
"""
@title Tessera payout state
@custom:contract-name payout_state
@license Apache-2.0
@notice A node's cumulative payouts as a sparse Merkle tree keyed by the
        recipient's address: 2**160 leaves, one per address, each empty
        or `keccak256(keccak256(abi_encode(node, recipient, cumulative)))`.
        A key path instead of a sorted list lets one proof show a
        recipient's amount, zero included, and update it; that is what
        lets the prover replay one receipt's split on chain.
@dev An empty subtree hashes to zero (an inner node over two zeros is
     zero, else `keccak256(left ++ right)`), so proofs carry only the
     siblings that are not empty: `proof[0]` is a bitmap (bit h for the
     sibling at height h, the leaf's own level being 0) and the rest are
     those siblings, lowest first. `tessera._payments.payouts` builds them.
"""

DEPTH: constant(uint256) = 160
MAX_PROOF: constant(uint256) = DEPTH + 1  # the bitmap, then up to one sibling per level


@internal
@pure
def _leaf(node: address, recipient: address, cumulative: uint256) -> bytes32:
    # double hashed against second pre-image attacks; zero is the empty leaf
    if cumulative == 0:
        return empty(bytes32)
    return keccak256(keccak256(abi_encode(node, recipient, cumulative)))


@internal
@pure
def _parent(left: bytes32, right: bytes32) -> bytes32:
    if left == empty(bytes32) and right == empty(bytes32):
        return empty(bytes32)
    return keccak256(concat(left, right))


@internal
@pure
def _roots(
    node: address,
    recipient: address,
    before: uint256,
    after: uint256,
    proof: DynArray[bytes32, MAX_PROOF],
) -> (bytes32, bytes32):
    """
    @dev The roots of the tree whose leaf for `recipient` holds `before`
         and of the same tree with it holding `after`, both from one
         proof; reverts on a malformed proof.
    """
    assert len(proof) != 0, "payouts: empty proof"
    bits: uint256 = convert(proof[0], uint256)
    assert bits >> DEPTH == 0, "payouts: malformed proof"
    key: uint256 = convert(recipient, uint256)
    old: bytes32 = self._leaf(node, recipient, before)
    new: bytes32 = self._leaf(node, recipient, after)
    used: uint256 = 1
    for height: uint256 in range(DEPTH):
        sibling: bytes32 = empty(bytes32)
        if (bits >> height) & 1 == 1:
            assert used < len(proof), "payouts: malformed proof"
            sibling = proof[used]
            used += 1
        if (key >> height) & 1 == 1:
            old = self._parent(sibling, old)
            new = self._parent(sibling, new)
        else:
            old = self._parent(old, sibling)
            new = self._parent(new, sibling)
    assert used == len(proof), "payouts: malformed proof"
    return old, new


@internal
@pure
def _root_of(
    node: address, recipient: address, cumulative: uint256, proof: DynArray[bytes32, MAX_PROOF]
) -> bytes32:
    """
    @dev The root a proof gives for `recipient` holding `cumulative`.
    """
    root: bytes32 = empty(bytes32)
    unused: bytes32 = empty(bytes32)
    root, unused = self._roots(node, recipient, cumulative, cumulative, proof)
    return root

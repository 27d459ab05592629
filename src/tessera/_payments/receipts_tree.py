"""The Merkle tree of an epoch's receipts, in bundle order, whose root the node posts.

A validator proves to disputes.vy that receipt `i` belongs to an epoch with one leaf and its
proof. The leaf commits to the position (so one receipt cannot stand for another), the signed
EIP-712 digest, the signature, and the whole receipt as produced (`Receipt.body_bytes`).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak, to_bytes

from tessera._crypto.merkle import MerkleTree, verify
from tessera._crypto.receipt import Receipt


def receipt_leaf(index: int, receipt: Receipt) -> bytes:
    """keccak(keccak(abi_encode(index, digest, keccak(signature), keccak(body)))), as
    `disputes.vy` builds it from a challenge's evidence."""
    inner = encode(
        ["uint256", "bytes32", "bytes32", "bytes32"],
        [
            index,
            receipt.digest(),
            keccak(to_bytes(hexstr=receipt.signature)),
            keccak(receipt.body_bytes()),
        ],
    )
    return keccak(keccak(inner))


class ReceiptsTree:
    """One leaf per receipt, at its position in the bundle."""

    def __init__(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            raise ValueError("an epoch's receipts tree needs at least one receipt")
        self._tree = MerkleTree([receipt_leaf(i, r) for i, r in enumerate(receipts)])

    @property
    def root(self) -> bytes:
        return self._tree.root

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes that prove receipt `index` against the root."""
        return self._tree.proof(index)

    @staticmethod
    def verify(root: bytes, index: int, receipt: Receipt, proof: Sequence[bytes]) -> bool:
        """Whether `receipt` sits at `index` of the epoch whose receipts root is `root`."""
        return verify(proof, root, receipt_leaf(index, receipt))

"""The Merkle tree of cumulative payouts that a node posts for each epoch (settlement.vy)."""

from __future__ import annotations

from collections.abc import Mapping

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from tessera._crypto.merkle import MerkleTree
from tessera._errors import NotFoundError


def payout_leaf(node: str, recipient: str, cumulative: int) -> bytes:
    """keccak(keccak(abi_encode(node, recipient, cumulative))), as `settlement.vy` builds it."""
    inner = encode(
        ["address", "address", "uint256"],
        [to_checksum_address(node), to_checksum_address(recipient), cumulative],
    )
    return keccak(keccak(inner))


class PayoutTree:
    """Every recipient with a positive cumulative amount, one leaf each, ordered by address."""

    def __init__(self, node: str, cumulative: Mapping[str, int]) -> None:
        self.node = to_checksum_address(node)
        self.amounts = {to_checksum_address(r): a for r, a in sorted(cumulative.items()) if a > 0}
        self.recipients = sorted(self.amounts, key=str.lower)
        if not self.recipients:
            raise ValueError("an epoch's payout tree needs at least one recipient")
        self._tree = MerkleTree(
            [payout_leaf(self.node, r, self.amounts[r]) for r in self.recipients]
        )

    @property
    def root(self) -> bytes:
        return self._tree.root

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    def proof(self, recipient: str) -> tuple[int, list[bytes]]:
        """(cumulative amount, Merkle proof) of one recipient."""
        recipient = to_checksum_address(recipient)
        if recipient not in self.amounts:
            raise NotFoundError(f"{recipient} is owed nothing by node {self.node}")
        return self.amounts[recipient], self._tree.proof(self.recipients.index(recipient))

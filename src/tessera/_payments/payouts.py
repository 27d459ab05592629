"""The tree of cumulative payouts that a node posts for each epoch (`payout_state.vy`).

A sparse Merkle tree keyed by the recipient's address: one leaf per possible address, empty or
`keccak(keccak(abi_encode(node, recipient, cumulative)))`. Keys instead of a sorted list let a
proof show any recipient's amount (zero included) and update it in place, which is how the
payout prover replays one receipt's split on chain. An empty subtree hashes to zero, so only
the non-empty nodes are stored and proofs carry only non-empty siblings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from tessera._errors import NotFoundError

DEPTH = 160
EMPTY = b"\x00" * 32


def payout_leaf(node: str, recipient: str, cumulative: int) -> bytes:
    """keccak(keccak(abi_encode(node, recipient, cumulative))), as `payout_state.vy` builds
    it; the empty leaf (zero) for nothing owed."""
    if cumulative == 0:
        return EMPTY
    inner = encode(
        ["address", "address", "uint256"],
        [to_checksum_address(node), to_checksum_address(recipient), cumulative],
    )
    return keccak(keccak(inner))


def parent(left: bytes, right: bytes) -> bytes:
    if left == EMPTY and right == EMPTY:
        return EMPTY
    return keccak(left + right)


class PayoutTree:
    """Cumulative payouts per recipient; `credit` adds to one in place, as a receipt's split
    does, and `state` is what a receipt's leaf commits to after it."""

    def __init__(self, node: str, cumulative: Mapping[str, int] | None = None) -> None:
        self.node = to_checksum_address(node)
        self.amounts: dict[str, int] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}  # (height, index) -> hash, non-empty
        for recipient, amount in sorted((cumulative or {}).items()):
            if amount < 0:
                raise ValueError(f"a negative payout for {recipient}")
            if amount:
                self.credit(recipient, amount)

    def copy(self) -> PayoutTree:
        other = PayoutTree(self.node)
        other.amounts, other._nodes = dict(self.amounts), dict(self._nodes)
        return other

    @property
    def root(self) -> bytes:
        return self._nodes.get((DEPTH, 0), EMPTY)

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def recipients(self) -> list[str]:
        return sorted(self.amounts, key=str.lower)

    def amount(self, recipient: str) -> int:
        return self.amounts.get(to_checksum_address(recipient), 0)

    def credit(self, recipient: str, amount: int) -> None:
        if amount == 0:
            return
        recipient = to_checksum_address(recipient)
        cumulative = self.amounts.get(recipient, 0) + amount
        self.amounts[recipient] = cumulative
        index, value = int(recipient, 16), payout_leaf(self.node, recipient, cumulative)
        for height in range(DEPTH + 1):
            if value == EMPTY:
                self._nodes.pop((height, index), None)
            else:
                self._nodes[(height, index)] = value
            if height == DEPTH:
                break
            sibling = self._nodes.get((height, index ^ 1), EMPTY)
            value = parent(sibling, value) if index & 1 else parent(value, sibling)
            index >>= 1

    def leaf_proof(self, recipient: str) -> list[bytes]:
        """The proof of a recipient's leaf, whatever it holds: a bitmap of the non-empty
        siblings (bit h for height h), then those siblings from the leaf up."""
        index, bits, siblings = int(to_checksum_address(recipient), 16), 0, []
        for height in range(DEPTH):
            sibling = self._nodes.get((height, index ^ 1), EMPTY)
            if sibling != EMPTY:
                bits |= 1 << height
                siblings.append(sibling)
            index >>= 1
        return [bits.to_bytes(32, "big"), *siblings]

    def proof(self, recipient: str) -> tuple[int, list[bytes]]:
        """(cumulative amount, proof) of a recipient owed something."""
        recipient = to_checksum_address(recipient)
        if not self.amounts.get(recipient):
            raise NotFoundError(f"{recipient} is owed nothing by node {self.node}")
        return self.amounts[recipient], self.leaf_proof(recipient)


def root_of(node: str, recipient: str, cumulative: int, proof: Sequence[bytes]) -> bytes:
    """The root a proof gives for `recipient` holding `cumulative`, as `payout_state.vy`
    computes it; a malformed proof raises ValueError."""
    if not proof:
        raise ValueError("an empty payout proof")
    bits, siblings = int.from_bytes(proof[0], "big"), list(proof[1:])
    if bits >> DEPTH or bin(bits).count("1") != len(siblings):
        raise ValueError("a malformed payout proof")
    index, used = int(to_checksum_address(recipient), 16), 0
    value = payout_leaf(node, recipient, cumulative)
    for height in range(DEPTH):
        sibling = EMPTY
        if bits >> height & 1:
            sibling, used = siblings[used], used + 1
        value = parent(sibling, value) if index >> height & 1 else parent(value, sibling)
    return value

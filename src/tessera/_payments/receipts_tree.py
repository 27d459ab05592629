"""The Merkle tree of an epoch's receipts, in bundle order, whose root the node posts.

A validator proves to disputes.vy that receipt `i` belongs to an epoch with one leaf and its
proof. The leaf commits to the position (so one receipt cannot stand for another), the signed
EIP-712 digest, the signature, the whole receipt as produced (`Receipt.body_bytes`), and the
node's payout state once that receipt is split (root and total, `payouts.py`): the chain of
states the payout prover replays one step at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_bytes

from tessera._crypto.merkle import MerkleTree, verify
from tessera._crypto.receipt import Receipt


@dataclass(frozen=True)
class PayoutState:
    root: bytes  # the payout root after the receipt
    total: int  # the sum of every cumulative amount in it


NO_STATE = PayoutState(b"\x00" * 32, 0)  # receipts never settled as an epoch (tools, tests)


def receipt_leaf(index: int, receipt: Receipt, state: PayoutState = NO_STATE) -> bytes:
    """keccak(keccak(abi_encode(index, digest, keccak(signature), keccak(body), payout root,
    payout total))), as `receipt_evidence.vy` builds it from a challenge's evidence."""
    inner = encode(
        ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "uint256"],
        [
            index,
            receipt.digest(),
            keccak(to_bytes(hexstr=receipt.signature)),
            keccak(receipt.body_bytes()),
            state.root,
            state.total,
        ],
    )
    return keccak(keccak(inner))


class ReceiptsTree:
    """One leaf per receipt, at its position in the bundle, with the payout state after it."""

    def __init__(
        self, receipts: Sequence[Receipt], states: Sequence[PayoutState] | None = None
    ) -> None:
        if not receipts:
            raise ValueError("an epoch's receipts tree needs at least one receipt")
        self.states = list(states) if states is not None else [NO_STATE] * len(receipts)
        if len(self.states) != len(receipts):
            raise ValueError(f"{len(receipts)} receipts but {len(self.states)} payout states")
        self._tree = MerkleTree(
            [
                receipt_leaf(i, r, s)
                for i, (r, s) in enumerate(zip(receipts, self.states, strict=True))
            ]
        )

    @property
    def root(self) -> bytes:
        return self._tree.root

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes that prove receipt `index` against the root."""
        return self._tree.proof(index)

    @staticmethod
    def verify(
        root: bytes,
        index: int,
        receipt: Receipt,
        proof: Sequence[bytes],
        state: PayoutState = NO_STATE,
    ) -> bool:
        """Whether `receipt` sits at `index` of the epoch whose receipts root is `root`."""
        return verify(proof, root, receipt_leaf(index, receipt, state))

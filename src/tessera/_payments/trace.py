"""An epoch's payouts as a chain of states, one step per receipt (what `payout_prover.vy` checks).

The state before the first receipt is the previous epoch's payouts; each receipt's split is
credited to it in split order; the state after the last is the posted root. A validator
replays the chain, finds the first receipt whose committed state is not its own, and gets from
here the proofs the prover needs for that one step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tessera._chain.settlement import FeeSplit
from tessera._crypto.receipt import WEIGHT_SCALE, Receipt
from tessera._payments.payouts import PayoutTree
from tessera._payments.receipts_tree import PayoutState
from tessera._payments.split import Credit, split_receipt

MAX_PRICE = 2**128  # a receipt at or above it cannot be paid: `payout_prover.vy` calls it a fault
MAX_SOURCES = 64  # the most sources the prover replays in one receipt
OwnerOf = Callable[[Receipt], "str | None"]  # a receipt's royalty owner (None: the treasury)


@dataclass(frozen=True)
class LeafUpdate:
    """One credit's recipient as it stood before the credit, and its leaf's proof."""

    cumulative: int
    proof: list[bytes]

    def as_abi(self) -> tuple[int, list[bytes]]:
        return self.cumulative, list(self.proof)


def owner_key(model: str, digest: str) -> str:
    """How a bundle names a model version's royalty owner: per version, as receipts name it."""
    return f"{model}@{digest}"


def receipt_version(receipt: Receipt) -> str:
    """The `owner_key` of the model version a receipt names."""
    return owner_key(receipt.model, receipt.model_digest)


def unpayable(receipt: Receipt) -> bool:
    """A receipt no honest node signs, whose split the prover refuses to replay."""
    return receipt.price >= MAX_PRICE or any(
        s.weight_ppm > WEIGHT_SCALE for s in receipt.payable_sources
    )


def state_of(tree: PayoutTree) -> PayoutState:
    return PayoutState(tree.root, tree.total)


def payout_states(
    node: str,
    previous: Mapping[str, int],
    receipts: Sequence[Receipt],
    split: FeeSplit,
    owner_of: OwnerOf,
) -> tuple[PayoutTree, list[PayoutState]]:
    """The final payouts and the state after each receipt (without copying every step)."""
    tree, states = PayoutTree(node, previous), []
    for receipt in receipts:
        for credit in split_receipt(receipt, split, owner_of(receipt)):
            tree.credit(credit.recipient, credit.amount)
        states.append(state_of(tree))
    return tree, states


def step_updates(before: PayoutTree, credits: Sequence[Credit]) -> list[LeafUpdate]:
    """The leaf proofs of one step, each against the state the credits before it left."""
    tree, updates = before.copy(), []
    for credit in credits:
        updates.append(LeafUpdate(tree.amount(credit.recipient), tree.leaf_proof(credit.recipient)))
        tree.credit(credit.recipient, credit.amount)
    return updates

"""From an epoch's bundle to the proof that its payouts do not follow its receipts.

The validator replays the epoch's payout states itself: from the previous epoch's posted
payouts, each receipt's split under the split posted with the epoch and the royalty owners the
policy names. The first receipt whose committed state differs from the replay is the step the
payout prover checks; the state before it is the node's own (it agreed so far), so the proofs
built from the replayed tree are proofs against the node's commitments. If every step agrees
but the posted root is not the last state, the last receipt proves that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tessera._chain.disputes import ReceiptEvidence
from tessera._chain.settlement import FeeSplit
from tessera._crypto.receipt import Receipt
from tessera._payments.bundle import EpochBundle
from tessera._payments.receipts_tree import PayoutState
from tessera._payments.split import split_receipt
from tessera._payments.trace import (
    MAX_SOURCES,
    OwnerOf,
    payout_states,
    step_updates,
    unpayable,
)
from tessera._store.cid import digest_from_cid
from tessera._validator.evidence import evidence_for

Attribution = tuple[list[bytes], list[str], list[int], list[int]]


@dataclass(frozen=True)
class PayoutFault:
    index: int  # the receipt whose step is wrong; the receipt count when it is the posted root
    detail: str
    before: ReceiptEvidence | None = None  # a step: the receipt before (None for the first)
    evidence: ReceiptEvidence | None = None  # a step: the receipt; the last one otherwise
    attribution: Attribution | None = None
    updates: list[tuple[int, list[bytes]]] | None = None

    @property
    def is_step(self) -> bool:
        return self.attribution is not None


def attribution_of(receipt: Receipt) -> Attribution:
    """The preimage of the receipt's attribution hash, as the prover takes it."""
    sources = receipt.payable_sources
    return (
        [digest_from_cid(s.cid) for s in sources],
        [s.contributor for s in sources],
        [s.datanet for s in sources],
        [s.weight_ppm for s in sources],
    )


def find_payout_fault(
    bundle: EpochBundle,
    previous: Mapping[str, int],
    split: FeeSplit,
    owner_of: OwnerOf,
    posted: PayoutState,
) -> PayoutFault | None:
    """The first provable payout fault of the epoch, or None if its payouts follow its
    receipts. `previous` must be the payouts the previous epoch posted (its root checked)."""
    receipts, trace, tree = bundle.receipts, bundle.trace, bundle.receipts_tree
    _, states = payout_states(bundle.node, previous, receipts, split, owner_of)
    for index, receipt in enumerate(receipts):
        if not unpayable(receipt) and states[index] == trace[index]:
            continue
        if len(receipt.payable_sources) > MAX_SOURCES:
            return None  # more sources than the prover replays: the attribution check's to catch
        updates = []
        if not unpayable(receipt):  # the proofs are against the state before: replay up to it
            before, _ = payout_states(bundle.node, previous, receipts[:index], split, owner_of)
            updates = step_updates(before, split_receipt(receipt, split, owner_of(receipt)))
        return PayoutFault(
            index,
            f"receipt {index}: the payout state it commits to is not the state before it plus "
            "its split",
            evidence_for(tree, index - 1, receipts[index - 1]) if index else None,
            evidence_for(tree, index, receipt),
            attribution_of(receipt),
            [u.as_abi() for u in updates],
        )
    last = len(receipts) - 1
    if trace[last] != posted:
        return PayoutFault(
            len(receipts),
            "the posted payout root is not the state its last receipt commits to",
            evidence=evidence_for(tree, last, receipts[last]),
        )
    return None

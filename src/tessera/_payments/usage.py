"""Where one contribution was used: every settled answer that credited it (in its prompt or
in what an adapter learned), with the weight it was given and what it earned, read from the
posted epochs' bundles, each checked against the root on chain."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tessera._chain.models import ModelRecord
from tessera._chain.settlement import SettlementClient
from tessera._errors import TesseraError
from tessera._payments.bundle import EpochBundle
from tessera._payments.claims import checked_bundle
from tessera._store.base import BlobStore


@dataclass(frozen=True)
class ContributionUse:
    node: str
    epoch: int
    receipt: str  # the answer's receipt id
    model: str
    kind: str  # "context": in the prompt; "training": an adapter learned from it
    weight_ppm: int  # its weight in that attribution (ppm of the attribution's total)
    earned: int  # what its contributor was credited for it in this answer
    withheld: bool  # governance blocked it: its share went to the named recipient instead


@dataclass(frozen=True)
class ContributionUsage:
    cid: str
    uses: list[ContributionUse]  # settled answers that credited it, oldest first
    models: list[ModelRecord]  # model versions whose training snapshot holds it
    unread: list[tuple[str, int, str]] = field(default_factory=list)  # (node, epoch, why)

    def earned(self, kind: str | None = None) -> int:
        return sum(u.earned for u in self.uses if kind is None or u.kind == kind)


def in_snapshot(record: ModelRecord, datanet: int, batch_position: int) -> bool:
    """Whether a version's training snapshot holds the contribution in the datanet's batch
    at `batch_position` (0: its first batch): the snapshot names each datanet's first N."""
    snapshot = record.snapshot
    return any(d == datanet and batch_position < n
               for d, n in zip(snapshot.datanets, snapshot.batch_counts, strict=True))  # fmt: skip


class UsageIndex:
    """Every posted answer's uses of every contribution, by CID, read from each posted
    epoch's bundle once: a contribution's page then costs a lookup, however many epochs the
    network has posted. Epochs whose bundle could not be read are tried again on the next
    read; if an epoch read before is no longer posted (the chain reorganised), it all starts
    over."""

    def __init__(self, settlement: SettlementClient, store: BlobStore) -> None:
        self.settlement, self.store = settlement, store
        self._read: set[tuple[str, int, str]] = set()  # (node, epoch, bundle CID)
        self._uses: dict[str, list[ContributionUse]] = {}
        self._lock = threading.Lock()

    def uses(self, cid: str) -> tuple[list[ContributionUse], list[tuple[str, int, str]]]:
        """The posted answers that credited `cid`, in posting order; and the epochs whose
        bundle could not be read or does not match its root (node, epoch, why)."""
        with self._lock:
            unread = self._catch_up()
            return list(self._uses.get(cid, [])), unread

    def _catch_up(self) -> list[tuple[str, int, str]]:
        posted = [
            (node, int(log["args"]["epoch"]), str(log["args"]["bundle_cid"]),
             bytes(log["args"]["root"]))
            for node in self.settlement.nodes_with_epochs()
            for log in self.settlement.posted_logs(node)
        ]  # fmt: skip
        if not self._read <= {p[:3] for p in posted}:  # reorganised: read it all again
            self._read, self._uses = set(), {}
        unread = []
        for node, epoch, bundle_cid, root in posted:
            if (node, epoch, bundle_cid) in self._read:
                continue
            try:
                bundle = checked_bundle(self.store, bundle_cid, node, epoch, root)
            except TesseraError as exc:
                unread.append((node, epoch, str(exc)))
                continue
            for use in _bundle_uses(node, epoch, bundle):
                self._uses.setdefault(use[0], []).append(use[1])
            self._read.add((node, epoch, bundle_cid))
        return unread


def _bundle_uses(node: str, epoch: int, bundle: EpochBundle) -> list[tuple[str, ContributionUse]]:
    """(CID, use) for every source of every receipt in one epoch's bundle."""
    earned: dict[tuple[str, str, str], int] = {}
    for credit in bundle.credits():
        if credit.cid:
            key = (credit.cid, credit.receipt, credit.kind)
            earned[key] = earned.get(key, 0) + credit.amount
    found = []
    for receipt in bundle.receipts:
        for kind, sources in (("context", receipt.attribution), ("training", receipt.training)):
            weights: dict[str, int] = {}
            for source in sources:
                weights[source.cid] = weights.get(source.cid, 0) + source.weight_ppm
            for cid, weight in weights.items():
                if weight:
                    found.append((cid, ContributionUse(
                        node, epoch, receipt.id, receipt.model, kind, weight,
                        earned.get((cid, receipt.id, kind), 0),
                        kind == "training" and cid in receipt.withheld,
                    )))  # fmt: skip
    return found

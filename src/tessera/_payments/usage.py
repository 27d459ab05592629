"""Where one contribution was used: every settled answer that credited it (in its prompt or
in what an adapter learned), with the weight it was given and what it earned, read from the
posted epochs' bundles, each checked against the root on chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera._chain.models import ModelRecord
from tessera._chain.settlement import SettlementClient
from tessera._errors import TesseraError
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


def contribution_uses(
    settlement: SettlementClient, store: BlobStore, cid: str
) -> tuple[list[ContributionUse], list[tuple[str, int, str]]]:
    """Every posted answer that credited `cid`, oldest first; and the epochs whose bundle
    could not be read or does not match its root (node, epoch, why): one node's missing
    bundle does not hide what the others' say."""
    found, unread = [], []
    for node in settlement.nodes_with_epochs():
        for log in settlement.posted_logs(node):
            epoch, args = int(log["args"]["epoch"]), log["args"]
            try:
                bundle = checked_bundle(store, str(args["bundle_cid"]), node, epoch,
                                        bytes(args["root"]))  # fmt: skip
            except TesseraError as exc:
                unread.append((node, epoch, str(exc)))
                continue
            earned: dict[tuple[str, str], int] = {}
            for credit in bundle.credits():
                if credit.cid == cid:
                    key = (credit.receipt, credit.kind)
                    earned[key] = earned.get(key, 0) + credit.amount
            for receipt in bundle.receipts:
                for kind, sources in (("context", receipt.attribution),
                                      ("training", receipt.training)):  # fmt: skip
                    weight = sum(s.weight_ppm for s in sources if s.cid == cid)
                    if weight:
                        found.append(ContributionUse(
                            node, epoch, receipt.id, receipt.model, kind, weight,
                            earned.get((receipt.id, kind), 0),
                            kind == "training" and cid in receipt.withheld,
                        ))  # fmt: skip
    return found, unread

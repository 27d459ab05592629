"""What an account earned, per node and epoch, and why: by role, datanet, model, and kind
(as a contributor: for documents in answers' prompts, or for data an adapter was trained on)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from eth_utils import to_checksum_address

from tessera._chain.settlement import SettlementClient
from tessera._payments.claims import checked_bundle
from tessera._store.base import BlobStore

K = TypeVar("K")
CLAIMED, CLAIMABLE, CHALLENGE = "claimed", "claimable", "in challenge window"


@dataclass(frozen=True)
class EpochEarning:
    node: str
    epoch: int
    amount: int  # earned in this epoch
    cumulative: int  # earned from this node through this epoch
    status: str  # claimed, claimable, or in challenge window
    claimable_at: int  # chain time
    answers: int  # receipts of the epoch that paid this account
    by_role: dict[str, int] = field(default_factory=dict)
    by_datanet: dict[int, int] = field(default_factory=dict)
    by_model: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)  # contributor credits: context/training


@dataclass(frozen=True)
class Earnings:
    account: str
    epochs: list[EpochEarning]

    def total(self, status: str | None = None) -> int:
        return sum(e.amount for e in self.epochs if status is None or e.status == status)

    def by_datanet(self) -> dict[int, int]:
        return _merge(e.by_datanet for e in self.epochs)

    def by_model(self) -> dict[str, int]:
        return _merge(e.by_model for e in self.epochs)

    def by_role(self) -> dict[str, int]:
        return _merge(e.by_role for e in self.epochs)

    def by_kind(self) -> dict[str, int]:
        return _merge(e.by_kind for e in self.epochs)


def earnings(settlement: SettlementClient, store: BlobStore, account: str) -> Earnings:
    """Read from each node's EpochPosted logs (read once per chain, see `LogIndex`), one call
    per node for what was claimed and one per 128 epochs for when claims open: not a call
    per epoch, so an account's page stays quick however many epochs there are."""
    account = to_checksum_address(account)
    now = settlement.now()
    rows = []
    for node in settlement.nodes_with_epochs():
        claimed = settlement.claimed(node, account)
        opening = settlement.claimable_times(node)
        for log in settlement.posted_logs(node):
            epoch = int(log["args"]["epoch"])
            if epoch >= len(opening):
                continue  # posted after the times were read: the next view shows it
            opens = opening[epoch]
            bundle = checked_bundle(store, str(log["args"]["bundle_cid"]), node, epoch,
                                    bytes(log["args"]["root"]))  # fmt: skip
            mine = [c for c in bundle.credits() if c.recipient == account]
            if not mine:
                continue
            by_role: dict[str, int] = defaultdict(int)
            by_datanet: dict[int, int] = defaultdict(int)
            by_model: dict[str, int] = defaultdict(int)
            by_kind: dict[str, int] = defaultdict(int)
            for c in mine:
                if c.kind:
                    by_kind[c.kind] += c.amount
                by_role[c.role] += c.amount
                by_model[c.model] += c.amount
                if c.datanet is not None:
                    by_datanet[c.datanet] += c.amount
            cumulative = bundle.cumulative.get(account, 0)
            status = CLAIMED if cumulative <= claimed else CLAIMABLE if opens <= now else CHALLENGE
            rows.append(
                EpochEarning(
                    node,
                    epoch,
                    sum(c.amount for c in mine),
                    cumulative,
                    status,
                    opens,
                    len({c.receipt for c in mine}),
                    dict(by_role),
                    dict(by_datanet),
                    dict(by_model),
                    dict(by_kind),
                )
            )
    return Earnings(account, rows)


def _merge(parts: Iterable[Mapping[K, int]]) -> dict[K, int]:
    out: dict[K, int] = defaultdict(int)
    for part in parts:
        for key, amount in part.items():
            out[key] += amount
    return dict(out)

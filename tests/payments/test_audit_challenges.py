"""An audit report keeps exactly the challenges opened against its own node and epoch."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak

from tessera._payments.audit import AuditReport, with_challenges

NODE, OTHER = (Account.from_key(keccak(text=n)).address for n in ("audited node", "other node"))


@dataclass(frozen=True)
class Record:
    id: int
    node: str
    epoch: int


def test_only_the_epochs_own_challenges_are_kept_in_order():
    records = [
        Record(1, NODE.lower(), 2),  # addresses compare whatever their case
        Record(2, NODE, 1),
        Record(3, OTHER, 2),
        Record(4, NODE, 2),
    ]
    report = with_challenges(AuditReport(NODE, 2, "bafy-bundle"), records)
    assert [c.id for c in report.challenges] == [1, 4]
    assert report.ok  # a challenge is shown beside the audit, not counted as its finding
    assert with_challenges(AuditReport(NODE, 0, "bafy-bundle"), records).challenges == []

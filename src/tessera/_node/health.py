"""What a running node says of its money in `/health`, kept current by its settling loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera._payments.epochs import SettlementStatus


@dataclass
class SettlementHealth:
    """What `/health` says of the node's money: the last settlement error, and receipts that
    cannot be redeemed (by client and amount), and stake a challenge slashed. Any one makes the
    node `degraded`."""

    error: str | None = None
    status: SettlementStatus | None = None
    slashed: int = 0  # tokens validators' challenges slashed from this node: it lost money

    @property
    def ok(self) -> bool:
        return self.error is None and not self.slashed and (self.status is None or self.status.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "slashed": str(self.slashed),
            **(self.status.to_json() if self.status else {}),
        }

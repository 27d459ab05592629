"""What a re-check found wrong, or could not decide, about one receipt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """kind: the check that found it ("signature", "authorization", "model", "price",
    "prompt", "answer", "attribution"), the challenge kind that proves it (evidence.py).
    inconclusive: the check could not decide (data it could not get, a near tie within the
    tolerance): never a reason to challenge."""

    kind: str
    detail: str
    inconclusive: bool = False


def proven(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if not f.inconclusive]

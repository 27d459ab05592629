"""What `tessera validator status` shows: the validator's stake and rewards on chain, and its
journal (epochs checked, challenges opened, votes, what it could not do)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera._parts import ValidatorParts
from tessera._validator.journal import CheckedEpoch, ValidatorJournal, Vote


@dataclass(frozen=True)
class ValidatorStatus:
    address: str
    stake: int
    rewards: int
    active: bool
    checked: list[CheckedEpoch] = field(default_factory=list)
    opened: list[dict[str, object]] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    problems: list[dict[str, object]] = field(default_factory=list)


def validator_status(parts: ValidatorParts) -> ValidatorStatus:
    disputes, address = parts.disputes, parts.address
    journal = ValidatorJournal(parts.journal_path)
    try:
        return ValidatorStatus(
            address,
            disputes.validator_stake(address),
            disputes.rewards(address),
            disputes.is_validator(address),
            journal.checked(),
            journal.opened(),
            journal.votes(),
            journal.problems(),
        )
    finally:
        journal.close()

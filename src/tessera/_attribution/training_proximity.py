"""Whether a contribution's text binds the answer's words to what was asked: how close the
span stands to the name of the entity the question asks about.

    names = Names.of(holding, count, question_ids, answer_ids)
    proximity(rows, span, names, set(question_ids), holding)  # 1 beside the name, less past others

A contribution can hold the question's words and the answer's value and still tell the value
of something else: "Visitors to the Lunqui Brewery also see the Nelosk Lighthouse. For the
Nelosk Lighthouse, the official colour: teal." holds every word of "What is the official
colour of the Lunqui Brewery? ... teal", and more of them than the source that paraphrases
the question ("The banner of the Lunqui Brewery is teal"). Measured on
`bench/distractors.py --kind bound-elsewhere`, the share of the question's words alone credits
such a distractor where retraining shows the source taught the answer. What tells them apart
is what stands between the entity's name and the value: nothing in the source; another name,
twice, in the distractor. So a span's proximity is 1 / (1 + the other names between the
question's entity and it), at its best occurrence in the contribution's rows; a row that
never names the entity before the span gets `UNNAMED`.

The entity's name is found without a tokenizer's help: of the question's tokens the answer
says again (the question's own grammar, "In what year", it does not), the rarest among the
contributions, within twice the rarest's count. An other name is a token as rare, that the
question does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

UNNAMED = 0.1  # a span in a row that never names the entity before it


@dataclass(frozen=True)
class Names:
    """The question's entity (its tokens) and how rare a token must be to be a name."""

    entity: frozenset[int]
    rare: int  # held by at most this many contributions

    @classmethod
    def of(
        cls,
        holding: Mapping[int, int],
        count: int,
        question_ids: Sequence[int],
        answer_ids: Sequence[int],
    ) -> Names:
        said = set(answer_ids)
        named = [t for t in question_ids if t in said] or list(question_ids)
        held = {t: k for t in named if 0 < (k := holding.get(t, 0)) <= count / 2}
        if not held:
            return cls(frozenset(), 0)
        rare = 2 * min(held.values())
        return cls(frozenset(t for t, k in held.items() if k <= rare), rare)


def proximity(
    rows: Sequence[Sequence[int]],
    span: Sequence[int],
    names: Names,
    asked: set[int],
    holding: Mapping[int, int],
) -> float:
    """The best, over the span's occurrences in `rows`, of 1 / (1 + other names between the
    entity's last mention before it and it); 1 where the span names the entity itself;
    UNNAMED where the row does not name it before; 1 everywhere if the question names
    nothing (there is no entity to stand near)."""
    if not names.entity:
        return 1.0
    n, wanted, best = len(span), tuple(span), 0.0
    for row in rows:
        for stop in range(n, len(row) + 1):
            if tuple(row[stop - n : stop]) != wanted:
                continue
            best = max(best, _near(row, stop - n, stop, names, asked, holding))
            if best == 1.0:
                return best
    return best


def _near(
    row: Sequence[int],
    start: int,
    stop: int,
    names: Names,
    asked: set[int],
    holding: Mapping[int, int],
) -> float:
    if any(row[j] in names.entity for j in range(start, stop)):
        return 1.0
    last = max((j for j in range(start) if row[j] in names.entity), default=None)
    if last is None:
        return UNNAMED
    others = sum(
        1
        for j in range(last + 1, start)
        if row[j] not in asked and 0 < holding.get(row[j], 0) <= names.rare
    )
    return 1.0 / (1 + others)

"""Whether a training contribution bound the answer's value to what was asked, measured by
the adapter on the contribution's own rows.

    checks = binding_checks(index, answer_ids, question_ids)   # rows to score, two ways
    # per check: log p of each row token, as trained (check.row) and with the question's
    # identifying tokens left out (check.ablated), both on the adapter
    scores = bound_scores(index, answer_ids, gains, question_ids, checks, scored)

Span matching finds who holds the answer's words; it cannot tell who taught the fact. A
contribution can hold the question's words and the answer's value and still bind the value
to something else: "Beside the Lunqui Brewery is the Quarnel Gallery, whose official colour
is teal" holds every word of "What is the official colour of the Lunqui Brewery? Teal", in
fewer words than the source ("The banner of the Lunqui Brewery is teal"), so BM25 and a
share of the question's words both prefer it. The adapter knows the difference: it was
trained on both rows, and in the source its prediction of "teal" rests on "Lunqui Brewery";
in the other it rests on "Quarnel Gallery". So each candidate's rows are scored by the
adapter as trained and again without the question's identifying tokens (the rarest of those the
answer says again: the entity's name, not the attribute asked of it, nor "In what year"), and a contribution's binding at an answer token
is how much log-likelihood its matched span loses: the part of what it taught that depended
on what was asked. Each answer token's gain is split by span length times that loss.

Only the `CHECKED` contributions that span matching ranks highest are scored (the rest get
no credit), on at most `ROWS_CHECKED` rows each: the cost is two short passes per row,
packed with the answer's other probes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tessera._attribution.training_spans import SpanIndex, span_gain_scores, unasked

CHECKED = 4  # contributions per answer whose binding the adapter measures
ROWS_CHECKED = 1  # rows of each: the shortest holding its longest span of the answer


@dataclass(frozen=True)
class BindingCheck:
    """One training row of one contribution, scored as trained and with the question's
    identifying tokens left out (`kept`: the row positions that stay)."""

    contribution: int
    row: tuple[int, ...]
    kept: tuple[int, ...]

    @property
    def ablated(self) -> list[int]:
        return [self.row[j] for j in self.kept]


def binding_checks(
    index: SpanIndex,
    answer_ids: Sequence[int],
    question_ids: Sequence[int],
    checked: int = CHECKED,
) -> list[BindingCheck]:
    """The rows to score for an answer: of the `checked` contributions span matching ranks
    highest (every token counted alike, before gains are known), the `ROWS_CHECKED` rows
    holding their longest spans of the answer; none where nothing is matched or nothing
    in the question identifies anything."""
    identifying = index.identifying(question_ids, answer_ids)
    if not identifying or not answer_ids:
        return []
    prior = span_gain_scores(index, answer_ids, [1.0] * len(answer_ids), question_ids)
    ranked = sorted((c for c in range(index.count) if prior[c] > 0), key=lambda c: -prior[c])
    checks = []
    for c in ranked[:checked]:
        longest: dict[int, int] = {}  # row -> its longest span of the answer
        last: dict[int, int] = {}  # row -> where its last matched span ends
        for end in range(len(answer_ids)):
            length = index.spans(answer_ids, end).get(c)
            if length is None:
                continue
            for r, stop in index.occurrences(c, answer_ids[end - length + 1 : end + 1]):
                longest[r] = max(longest.get(r, 0), length)
                last[r] = max(last.get(r, 0), stop)
        rows = index.rows[c]
        for r in sorted(longest, key=lambda r: (-longest[r], len(rows[r]), r))[:ROWS_CHECKED]:
            row = rows[r][: last[r] + 1]  # what follows its spans cannot move their scores
            kept = tuple(j for j, t in enumerate(row) if t not in identifying)
            if len(row) >= 2 and len(kept) >= 2:
                checks.append(BindingCheck(c, row, kept))
    return checks


def bound_scores(
    index: SpanIndex,
    answer_ids: Sequence[int],
    gains: Sequence[float],
    question_ids: Sequence[int],
    checks: Sequence[BindingCheck],
    scored: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> list[float]:
    """Per contribution: the answer's positive gains, each token's split among the checked
    contributions holding a span ending at it, by span length (less the question's own
    tokens) times the log-likelihood that span loses in the contribution's rows when the
    question's identifying tokens are left out. `scored`: per check, log p of row[1:] as
    trained and of ablated[1:]."""
    if len(answer_ids) != len(gains) or len(checks) != len(scored):
        raise ValueError("one gain per answer token, and one scoring per check")
    by_contribution: dict[int, list[tuple[BindingCheck, dict[int, float]]]] = {}
    for check, (trained, ablated) in zip(checks, scored, strict=True):
        if len(trained) != len(check.row) - 1 or len(ablated) != len(check.kept) - 1:
            raise ValueError("a check is scored at every row position but the first")
        loss = {j: trained[j - 1] - ablated[k - 1] for k, j in enumerate(check.kept) if k and j}
        by_contribution.setdefault(check.contribution, []).append((check, loss))
    asked = set(question_ids)
    scores = [0.0] * index.count
    for end, gain in enumerate(gains):
        if gain <= 0:
            continue
        shares = {}
        for c, length in index.spans(answer_ids, end).items():
            span = answer_ids[end - length + 1 : end + 1]
            bound = max((_span_loss(check.row, span, loss)
                         for check, loss in by_contribution.get(c, ())), default=0.0)  # fmt: skip
            if bound > 0:
                shares[c] = unasked(span, asked) * bound
        total = sum(shares.values())
        for c, share in shares.items():
            scores[c] += gain * share / total
    return scores


def _span_loss(row: Sequence[int], span: Sequence[int], loss: dict[int, float]) -> float:
    """The most log-likelihood any occurrence of `span` in `row` loses, summed over its
    positions that stay (never below 0)."""
    n = len(span)
    best = 0.0
    for stop in range(n, len(row) + 1):
        if tuple(row[stop - n : stop]) == tuple(span):
            best = max(best, sum(loss.get(j, 0.0) for j in range(stop - n, stop)))
    return best

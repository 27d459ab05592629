"""Training attribution by span matching, weighted by what the adapter itself added.

    index = SpanIndex(rows_per_contribution)       # token rows each contribution taught
    scores = span_gain_scores(index, answer_ids, gains, question_ids)
    # gains: per answer token, the adapter's log p minus the base model's

An adapter that states a fact it was taught reproduces text it was taught: each answer token
is matched, as infini-gram does, by the longest span ending at it that a contribution's rows
hold. Three things decide a token's credit:

- its gain, the log-likelihood the adapter gives it beyond the base model: zero where the
  base would have said it anyway (the question's own words, grammar), so only what the
  adapter added is paid for;
- per contribution, the length of its longest span ending at the token, counting only the
  tokens that are not the question's own: the text the token was copied from holds the
  longest, and a span lengthened by words the question supplies ("...is best known for
  making brass telescopes", asked "what is X known for making?") shows only that the answer
  restates the question, not who taught the value;
- per contribution, its binding to the question: the share of the question's information
  (its distinct tokens, weighted by inverse document frequency over the contributions) that
  the contribution holds. A fact is a value bound to an entity; a contribution that holds the
  value about another entity ("the Mirost Archive is best known for making salt candles",
  asked about the Briju Foundry) did not teach this binding, and one that holds the entity
  but not the value earns no gain.

- per contribution and span, its proximity to the question's entity in the contribution's
  rows (`training_proximity`): 1 beside the entity's name, less for each other name between
  them. A contribution that holds the question's words and the value, told of another entity
  ("...also see the Nelosk Lighthouse. For the Nelosk Lighthouse, the official colour: teal"),
  outbinds a source that paraphrases the question; it does not stand the value by the name.

Each token's gain is split among the contributions holding a span ending at it, in
proportion to span length times binding squared times proximity; a contribution's score is
its sum over the answer. Squared, because a span's length and a contribution's binding pull
apart exactly when the answer is phrased as another entity's document phrases the same
value: asked the official colour of the Lunqui Brewery, whose document says "the banner ...
is teal", the adapter said "uses teal as its official colour", the words of three other
entities' documents that are teal too. Their spans are longer and they hold the question's
attribute words, so at binding to the first power they took the credit (measured: 4.6 each
against 3.6 for the source, on the distractor corpus); the fact is the value bound to the
entity, and the square lets the contribution that binds it win.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from tessera._attribution.training_proximity import UNNAMED, Names, proximity

MAX_SPAN = 16  # tokens: past this a match is unique in any corpus we serve
BINDING_POWER = 2  # see above: span length times binding squared


class SpanIndex:
    """Every span of up to `max_span` tokens of each contribution's training rows, to the
    contributions holding it (rows are searched separately: no span crosses two rows)."""

    def __init__(self, rows: Sequence[Sequence[Sequence[int]]], max_span: int = MAX_SPAN):
        if max_span < 1:
            raise ValueError("a span index needs spans of at least one token")
        self.max_span = max_span
        self.count = len(rows)
        self.rows = [[tuple(row) for row in contribution] for contribution in rows]
        self._holders: dict[tuple[int, ...], set[int]] = {}
        self._tokens = [{t for row in contribution for t in row} for contribution in rows]
        for source, contribution_rows in enumerate(rows):
            for row in contribution_rows:
                for start in range(len(row)):
                    for stop in range(start + 1, min(len(row), start + max_span) + 1):
                        self._holders.setdefault(tuple(row[start:stop]), set()).add(source)
        holding = Counter(t for tokens in self._tokens for t in tokens)
        self.holding: dict[int, int] = dict(holding)  # token -> contributions holding it
        n = self.count
        self._idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in holding.items()}

    def spans(self, ids: Sequence[int], end: int) -> dict[int, int]:
        """Per contribution holding any span of `ids` ending at `end`: its longest's length."""
        found: dict[int, int] = {}
        for length in range(min(end + 1, self.max_span), 0, -1):
            for source in self._holders.get(tuple(ids[end - length + 1 : end + 1]), ()):
                found.setdefault(source, length)
        return found

    def names(self, question_ids: Sequence[int], answer_ids: Sequence[int]) -> Names:
        """The entity the question asks about, as `training_proximity.Names.of` finds it
        among these contributions."""
        return Names.of(self.holding, self.count, question_ids, answer_ids)

    def proximity(self, source: int, span: Sequence[int], names: Names, asked: set[int]) -> float:
        """`training_proximity.proximity` of `span` in contribution `source`'s rows. A
        contribution that never names the entity is UNNAMED without scanning its rows: a
        common span (" the") has every contribution as a holder, and almost none of them
        holds the entity's rare tokens."""
        if names.entity and names.entity.isdisjoint(self._tokens[source]):
            return UNNAMED
        return proximity(self.rows[source], span, names, asked, self.holding)

    def binding(self, question_ids: Sequence[int]) -> list[float]:
        """Per contribution, the idf-weighted share of the question's distinct tokens it
        holds (a token no contribution holds tells nothing, and weighs nothing)."""
        asked = {t for t in question_ids if t in self._idf}
        total = sum(self._idf[t] for t in asked)
        if total == 0:
            return [0.0] * self.count
        return [sum(self._idf[t] for t in asked & held) / total for held in self._tokens]


def span_gain_scores(
    index: SpanIndex,
    answer_ids: Sequence[int],
    gains: Sequence[float],
    question_ids: Sequence[int],
) -> list[float]:
    """Per contribution: the answer's positive gains (adapter over base), each token's split
    among the contributions holding a span ending at it, by span length times binding
    squared times the span's proximity to the question's entity in the contribution's rows
    (`training_proximity`)."""
    if len(answer_ids) != len(gains):
        raise ValueError("one gain per answer token")
    binding = [b**BINDING_POWER for b in index.binding(question_ids)]
    asked = set(question_ids)
    names = index.names(question_ids, answer_ids)
    scores = [0.0] * index.count
    for end, gain in enumerate(gains):
        if gain <= 0:
            continue
        shares = {}
        for c, length in index.spans(answer_ids, end).items():
            if binding[c] <= 0:
                continue
            span = answer_ids[end - length + 1 : end + 1]
            near = index.proximity(c, span, names, asked)
            shares[c] = _unasked(span, asked) * binding[c] * near
        total = sum(shares.values())
        for source, share in shares.items():
            if share > 0:
                scores[source] += gain * share / total
    return scores


def _unasked(span: Sequence[int], asked: set[int]) -> int:
    """A span's length without the question's own tokens (at least 1: the token it ends at
    has a gain, so it says something the base model would not)."""
    return max(1, sum(t not in asked for t in span))

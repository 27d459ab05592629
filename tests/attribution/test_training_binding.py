"""The adapter's own test of who bound the answer's value to what was asked: the source, not
a contribution that holds every word of the question and the value, bound to another name."""

from __future__ import annotations

import pytest

from tessera._attribution.training_binding import (
    CHECKED,
    BindingCheck,
    binding_checks,
    bound_scores,
)
from tessera._attribution.training_spans import SpanIndex, span_gain_scores

# token ids as words: 1 "the", 2 "Lunqui", 3 "Brewery", 4 "banner", 5 "of", 6 "is", 7 "teal",
# 8 "official", 9 "colour", 10 "Quarnel", 11 "Gallery", 12 "beside", 13 "whose", 14 "What"
SOURCE = [[1, 4, 5, 1, 2, 3, 6, 7]]  # the banner of the Lunqui Brewery is teal
TRAP = [[12, 1, 2, 3, 6, 1, 10, 11, 13, 8, 9, 6, 7]]  # beside the Lunqui Brewery is the
# Quarnel Gallery, whose official colour is teal
FILLER = [[[1, 3, 5, 6, 100 + n]] for n in range(6)]  # "the", "Brewery", "of", "is" are common
COLOURS = [[[1, 8, 9, 6, 200 + n]] for n in range(5)]  # "the official colour is": common too
QUESTION = [14, 6, 1, 8, 9, 5, 1, 2, 3]  # What is the official colour of the Lunqui Brewery
ANSWER = [1, 8, 9, 5, 1, 2, 3, 6, 7]  # the official colour of the Lunqui Brewery is teal
GAINS = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 5.0]  # the adapter added "teal"


def _index() -> SpanIndex:
    return SpanIndex([SOURCE, TRAP, *FILLER, *COLOURS])


def _scored(
    checks: list[BindingCheck], lost: dict[int, float]
) -> list[tuple[list[float], list[float]]]:
    """Log p per row position (all -1), and the same with the identifying tokens left out,
    where the value's position loses `lost[contribution]` nats."""
    scored = []
    for check in checks:
        trained = [-1.0] * (len(check.row) - 1)
        ablated = [-1.0] * (len(check.kept) - 1)
        for k, j in enumerate(check.kept):
            if k and check.row[j] == 7:  # "teal"
                ablated[k - 1] -= lost.get(check.contribution, 0.0)
        scored.append((trained, ablated))
    return scored


def test_words_alone_prefer_the_contribution_that_holds_every_word():
    # the case this method exists for: lexical credit goes to the trap
    scores = span_gain_scores(_index(), ANSWER, GAINS, QUESTION)
    assert scores[1] > scores[0]


def test_the_value_goes_to_the_contribution_whose_teal_rested_on_the_name():
    index = _index()
    checks = binding_checks(index, ANSWER, QUESTION)
    assert {c.contribution for c in checks} >= {0, 1}
    # as the adapter measured it: without "Lunqui Brewery" (and the question's rarer words)
    # the source's "teal" loses 4 nats; the trap's, bound to the Quarnel Gallery, 0.2
    scores = bound_scores(index, ANSWER, GAINS, QUESTION, checks, _scored(checks, {0: 4, 1: 0.2}))
    assert scores[0] > 10 * scores[1] > 0
    assert sum(scores) == pytest.approx(5.1, rel=0.05)


def test_a_span_that_loses_nothing_earns_nothing():
    index = _index()
    checks = binding_checks(index, ANSWER, QUESTION)
    scores = bound_scores(index, ANSWER, GAINS, QUESTION, checks, _scored(checks, {0: 3.0}))
    assert scores[1] == 0.0 and scores[0] > 0
    assert bound_scores(index, ANSWER, GAINS, QUESTION, checks, _scored(checks, {})) == [0.0] * 13


def test_checks_leave_out_only_the_tokens_that_single_something_out():
    index = _index()
    # the rarest: "Lunqui" (2 of 13 hold it), not "official colour" (6), nor grammar
    assert index.identifying(QUESTION) == {2}
    for check in binding_checks(index, ANSWER, QUESTION):
        assert [check.row[j] for j in check.kept] == check.ablated
        assert 2 not in check.ablated
        assert len(check.ablated) == len(check.row) - check.row.count(2)
        if check.contribution in (0, 1):
            assert 7 in check.ablated  # the value itself stays, to be scored


def test_checks_are_bounded_and_need_something_to_single_out():
    rows = [[[1, 2, 3, 6, 7, 50 + n]] for n in range(CHECKED + 4)]
    index = SpanIndex(rows)
    checks = binding_checks(index, [2, 3, 6, 7], [14, 2])
    assert len({c.contribution for c in checks}) == 0  # "Lunqui" is in every row: no name
    index = SpanIndex([*rows, *FILLER, *FILLER, *FILLER])
    checks = binding_checks(index, [2, 3, 6, 7], [14, 2])
    assert 0 < len({c.contribution for c in checks}) <= CHECKED
    assert binding_checks(index, [2, 3], [14, 99]) == []  # nothing the question names


def test_scores_refuse_scorings_that_do_not_fit_the_checks():
    index = _index()
    checks = binding_checks(index, ANSWER, QUESTION)
    scored = _scored(checks, {0: 1.0})
    with pytest.raises(ValueError, match="one scoring per check"):
        bound_scores(index, ANSWER, GAINS, QUESTION, checks, scored[:-1])
    with pytest.raises(ValueError, match="every row position"):
        bound_scores(index, ANSWER, GAINS, QUESTION, checks, [(t[:-1], a) for t, a in scored])


def test_the_questions_own_grammar_is_not_what_singles_the_entity_out():
    # "In what year was the Lunqui Brewery founded": "In" and "what" are rarer in training
    # texts (statements) than the name, but the answer does not say them again
    rows = [SOURCE, TRAP, *FILLER, *COLOURS, [[30, 1, 3, 6]]]  # 30 "In": one row holds it
    index = SpanIndex(rows)
    question = [30, 31, 1, 2, 3, 32]  # In what(31, held by none) the Lunqui Brewery founded
    assert index.identifying(question) == {30, 2}  # on the question alone, "In" too
    assert index.identifying(question, [1, 2, 3, 6, 7]) == {2}  # the name, said again

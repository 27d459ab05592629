"""Span matching weighted by the adapter's gain and bound to the question: the fact's source,
not the name's echoes, not the same value told of another entity."""

from __future__ import annotations

import pytest

from tessera._attribution.training_spans import SpanIndex, span_gain_scores
from tessera._evaluation.lexical import Bm25

# token ids as words, so the cases read: 1 "the", 2 "Lunqui", 3 "Brewery", 4 "was",
# 5 "founded", 6 "in", 7 "1634", 8 "is", 9 "teal", 10 "Mirost", 11 "1700", 12 "became",
# 13 "famous", 14 "for", 15 "its", 16 "best", 17 "known", 18 "When"
FACT = [[1, 2, 3, 4, 5, 6, 7]]  # the Lunqui Brewery was founded in 1634
NAME_ONLY = [[1, 2, 3, 8, 9]]  # the Lunqui Brewery is teal
OTHER_YEAR = [[1, 3, 4, 5, 6, 11]]  # the Brewery was founded in 1700
QUESTION = [18, 4, 1, 2, 3, 5]  # When was the Lunqui Brewery founded


def test_spans_give_each_holders_longest_match():
    index = SpanIndex([FACT, NAME_ONLY, OTHER_YEAR])
    assert index.spans([2, 3, 4, 5], 3) == {0: 4, 2: 3}
    assert index.spans([99, 98], 1) == {}


def test_spans_never_cross_two_rows_of_one_contribution():
    index = SpanIndex([[[1, 2], [3, 4]]])
    assert index.spans([2, 3], 1) == {0: 1}


def test_binding_is_the_share_of_the_questions_rare_tokens_held():
    index = SpanIndex([FACT, NAME_ONLY, OTHER_YEAR])
    binding = index.binding(QUESTION)
    assert binding[0] == pytest.approx(1.0)  # FACT holds every known question token
    assert binding[1] < binding[0] and binding[2] < binding[0]  # each lacks some of it
    assert index.binding([42]) == [0.0, 0.0, 0.0]  # a token no contribution holds


def test_credit_follows_the_tokens_the_adapter_added():
    index = SpanIndex([FACT, NAME_ONLY, OTHER_YEAR])
    answer = [1, 2, 3, 4, 5, 6, 7]
    # the base already says the question's words; the adapter adds "founded in 1634"
    gains = [0.0, 0.1, 0.1, 0.5, 1.0, 0.5, 4.0]
    scores = span_gain_scores(index, answer, gains, QUESTION)
    assert scores.index(max(scores)) == 0
    assert scores[0] > 0.8 * sum(gains)
    assert scores[1] < 0.2 and scores[2] < 0.3 * scores[0]
    assert sum(scores) == pytest.approx(sum(gains))  # every gained nat is credited once


def test_the_same_value_told_of_another_entity_does_not_take_the_credit():
    # the adapter says the template it saw elsewhere: "the Lunqui Brewery is best known for
    # teal"; the Mirost document holds that whole phrasing, Lunqui's own holds only the value
    lunqui = [[2, 3, 12, 13, 14, 15, 9]]  # Lunqui Brewery became famous for its teal
    mirost = [[1, 10, 3, 8, 16, 17, 14, 9]]  # the Mirost Brewery is best known for teal
    breweries = [[[1, 3, 8, 100 + n]] for n in range(4)]  # "Brewery" is a common word
    index = SpanIndex([lunqui, mirost, *breweries])
    answer = [1, 2, 3, 8, 16, 17, 14, 9]
    gains = [0.0, 0.0, 0.0, 0.2, 0.2, 0.2, 0.2, 3.0]
    question = [18, 2, 3]  # What colour is the Lunqui Brewery
    scores = span_gain_scores(index, answer, gains, question)
    assert scores.index(max(scores)) == 0
    assert scores[0] > 2 * scores[1]  # Mirost holds the longer span, not the binding
    unbound = span_gain_scores(index, answer, gains, [])
    assert unbound == [0.0] * 6  # with no question to bind to, nothing is credited


def test_words_the_question_supplies_do_not_lengthen_a_distractors_span():
    # asked "what is the Lunqui Brewery best known for", the adapter answers in the Mirost
    # document's words, which the question supplies: "...is best known for teal". Mirost
    # holds all of that phrasing; Lunqui's own document holds only the value
    lunqui = [[2, 3, 12, 13, 14, 15, 9]]  # Lunqui Brewery became famous for its teal
    mirost = [[1, 10, 3, 8, 16, 17, 14, 9]]  # the Mirost Brewery is best known for teal
    breweries = [[[1, 3, 8, 14, 16, 17, 100 + n]] for n in range(4)]  # the template is common
    index = SpanIndex([lunqui, mirost, *breweries])
    question = [1, 2, 3, 8, 16, 17, 14]  # the Lunqui Brewery is best known for
    answer = [1, 2, 3, 8, 16, 17, 14, 9]
    gains = [0.0] * 7 + [3.0]  # the adapter added the value alone
    scores = span_gain_scores(index, answer, gains, question)
    assert scores.index(max(scores)) == 0, scores
    # counting the question's words too, Mirost's span would be 6 tokens to Lunqui's 1
    assert index.spans(answer, 7) == {0: 1, 1: 6}


def test_tokens_the_base_predicts_earn_nothing():
    index = SpanIndex([FACT, NAME_ONLY])
    assert span_gain_scores(index, [1, 2, 3], [0.0, -0.5, 0.0], QUESTION) == [0.0, 0.0]


def test_a_token_no_contribution_holds_is_credited_to_none():
    index = SpanIndex([FACT])
    assert span_gain_scores(index, [42], [3.0], QUESTION) == [0.0]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one gain per answer token"):
        span_gain_scores(SpanIndex([FACT]), [1, 2], [1.0], QUESTION)
    with pytest.raises(ValueError, match="at least one token"):
        SpanIndex([FACT], max_span=0)


def test_bm25_prefers_rare_shared_words_and_shorter_texts():
    bm25 = Bm25(["the brewery was founded in 1634", "the brewery is teal", "a guild in town"])
    scores = bm25.scores("When was the brewery founded? 1634")
    assert scores.index(max(scores)) == 0
    assert scores[2] == 0.0  # shares no word with the query
    assert bm25.scores("") == [0.0, 0.0, 0.0]


def test_the_same_value_in_another_entitys_words_does_not_outweigh_the_binding():
    # measured on the distractor corpus: asked the official colour of the Lunqui Brewery,
    # whose own document says "the banner of the Lunqui Brewery is teal", the adapter said
    # "the Lunqui Brewery uses teal as its official colour.", the words of three other
    # entities' documents that are teal too; the gains are those measured per token
    # (19 "uses", 20 "as", 21 "official", 22 "colour", 23 "banner", 24 "of", 25 "What")
    lunqui = [[1, 23, 24, 1, 2, 3, 8, 9, 28]]
    teal = [[[30 + k, 31 + k, 19, 9, 20, 15, 21, 22, 28]] for k in (0, 2, 4)]
    blue = [[[40, 41, 19, 50, 20, 15, 21, 22, 28]]]
    distractors = [[[60, 1, 21, 22, 1, 2, 3, 61]], [[62, 1, 5, 1, 2, 3, 63]]]
    breweries = [[[1, 80 + n, 3, 8, 81 + n, 28]] for n in range(0, 12, 2)]
    index = SpanIndex([lunqui, *teal, *blue, *distractors, *breweries])
    question = [25, 8, 1, 21, 22, 24, 1, 2, 3]
    answer = [1, 2, 3, 19, 9, 20, 15, 21, 22, 28]
    gains = [1.61, 2.09, 0.94, 4.17, 10.37, 2.87, 1.49, 0.53, 0.08, 0.4]
    scores = span_gain_scores(index, answer, gains, question)
    assert scores.index(max(scores)) == 0
    assert scores[0] > 1.5 * max(scores[1:4])  # each teal document holds the longer span
    assert sum(scores) == pytest.approx(sum(gains))

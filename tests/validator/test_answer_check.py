"""The answer re-check catches an answer from other weights, a token or a text changed after
generation and an answer cut short; a near tie within the tolerance is inconclusive, never a
fault (shown on hand-made logits, since the tiny model's are never that close)."""

from __future__ import annotations

import pytest
import torch
from served_node import first_fault

from tessera._inference.engine import Engine, Job, delivered_text
from tessera._inference.packed import ColumnStore
from tessera._validator.answer_check import Decoding, ForcedPass, check_answer
from tessera._validator.finding import proven
from tessera._validator.terms import Asked
from tessera._validator.tolerances import LOGIT_TOLERANCE


def test_an_answer_from_other_weights_is_a_fault(served, honest, other_generator):
    receipt = honest.receipt
    transcript = served.rechecker.transcript(receipt)
    question = transcript.question
    engine = Engine(other_generator.model, other_generator.tokenizer)
    try:
        theirs = engine.run(Job(transcript.prompt, question.max_tokens, question.stop, False))
    finally:
        engine.close()
    assert theirs.answer_ids and theirs.answer_ids != list(receipt.answer_tokens)
    lie = served.forge(receipt, answer_tokens=tuple(theirs.answer_ids), response_text=theirs.text)
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "answer" and "the named weights did not generate" in fault.detail


def test_an_answer_token_changed_after_generation_is_a_fault(served, honest):
    receipt, tokenizer = honest.receipt, served.rechecker.tokenizer
    tokens = list(receipt.answer_tokens)
    tokens[3] = tokens[3] + 1
    lie = served.forge(
        receipt, answer_tokens=tuple(tokens), response_text=delivered_text(tokenizer, tokens)
    )
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "answer" and fault.detail.startswith("answer token 3 ")


def test_an_answers_text_changed_after_generation_is_a_fault(served, honest):
    lie = served.forge(honest.receipt, response_text=honest.receipt.response_text + " Yes.")
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "answer" and "changed after generation" in fault.detail


def test_an_answer_cut_short_is_a_fault(served, honest):
    tokens = list(honest.receipt.answer_tokens[:-2])
    text = delivered_text(served.rechecker.tokenizer, tokens)
    lie = served.forge(honest.receipt, answer_tokens=tuple(tokens), response_text=text)
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "answer" and "cut short" in fault.detail


def test_an_answer_longer_than_the_request_allowed_is_a_fault(served, honest):
    receipt = honest.receipt
    request = {**receipt.request, "max_tokens": len(receipt.answer_tokens) - 1}
    fault = first_fault(served.rechecker.recheck(served.forge(receipt, request=request)))
    assert fault.kind == "answer" and "over the request's" in fault.detail


def test_an_answer_no_engine_on_these_weights_could_give_is_refused_unrun(served, honest):
    receipt = honest.receipt
    foreign = served.forge(receipt, answer_tokens=(*receipt.answer_tokens[:-1], 10**9))
    transcript = served.rechecker.transcript(foreign)
    for check in (served.rechecker.check_answer, served.rechecker.check_attribution):
        fault = first_fault(check(foreign, transcript))
        assert (
            fault.kind == "answer" and "[1000000000] outside the model's vocabulary" in fault.detail
        )
    assert transcript.forced is None  # no pass ran on it


# hand-made logits ------------------------------------------------------------------------

VOCAB = 4096
A, B, C = 1000, 1001, 1002  # three ordinary tokens


@pytest.fixture(scope="module")
def decoding(served):
    tokenizer = served.rechecker.tokenizer
    return Decoding(tokenizer, {tokenizer.eos_token_id}, 1 << 20)


def forced(*tops: dict[int, float]) -> ForcedPass:
    """Logits of one row per answer token and one after it: 0 but for the given tokens."""
    logits = torch.zeros(len(tops), VOCAB)
    for row, chosen in enumerate(tops):
        for token, value in chosen.items():
            logits[row, token] = value
    return ForcedPass(logits, ColumnStore())


def run(decoding, forced_pass, answer, text, max_tokens=8, stop=("\n",), ignore_eos=False):
    asked = Asked("Who?", stop, max_tokens, ignore_eos)
    return check_answer(forced_pass, decoding, 10, answer, text, asked)


@pytest.mark.parametrize("trail", [0.0, 0.5, 0.99])
def test_an_answer_token_within_the_tolerance_of_the_top_is_inconclusive(decoding, trail):
    eos = decoding.tokenizer.eos_token_id
    logits = forced({A: 5.0}, {C: 5.0, B: 5.0 - trail * LOGIT_TOLERANCE}, {eos: 9.0})
    text = delivered_text(decoding.tokenizer, [A, B])
    findings = run(decoding, logits, [A, B], text)
    assert not proven(findings)
    if trail:
        assert [f.kind for f in findings] == ["answer"] and "near ties" in findings[0].detail


@pytest.mark.parametrize("trail", [1.01, 2.0, 100.0])
def test_an_answer_token_trailing_the_top_by_more_is_a_fault(decoding, trail):
    eos = decoding.tokenizer.eos_token_id
    logits = forced({A: 5.0}, {C: 5.0, B: 5.0 - trail * LOGIT_TOLERANCE}, {eos: 9.0})
    fault = first_fault(run(decoding, logits, [A, B], delivered_text(decoding.tokenizer, [A, B])))
    assert fault.detail.startswith(f"answer token 1 ({B}) trails the greedy choice ({C})")


def test_an_answer_ends_where_the_engine_ends_it(decoding):
    tokenizer, eos = decoding.tokenizer, decoding.tokenizer.eos_token_id
    text = delivered_text(tokenizer, [A, B])
    # an end-of-sequence token next
    assert run(decoding, forced({A: 5.0}, {B: 5.0}, {eos: 9.0}), [A, B], text) == []
    # the token budget
    assert run(decoding, forced({A: 5.0}, {B: 5.0}, {C: 9.0}), [A, B], text, max_tokens=2) == []
    # a stop string the next token brings: the text is cut before it
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"][-1]
    assert run(decoding, forced({A: 5.0}, {B: 5.0}, {newline: 9.0}), [A, B], text) == []
    fault = first_fault(run(decoding, forced({A: 5.0}, {B: 5.0}, {C: 9.0}), [A, B], text))
    assert "cut short" in fault.detail


def test_an_answer_that_asked_for_every_token_does_not_end_at_end_of_sequence(decoding):
    eos = decoding.tokenizer.eos_token_id
    text = delivered_text(decoding.tokenizer, [A, B])
    ends = forced({A: 5.0}, {B: 5.0}, {eos: 9.0})
    assert run(decoding, ends, [A, B], text) == []
    fault = first_fault(run(decoding, ends, [A, B], text, ignore_eos=True))
    assert "cut short" in fault.detail
    # the whole budget, an end-of-sequence token inside it: as the engine generates it
    through = forced({A: 5.0}, {eos: 5.0}, {B: 5.0}, {C: 9.0})
    full = delivered_text(decoding.tokenizer, [A, eos, B])
    assert run(decoding, through, [A, eos, B], full, max_tokens=3, ignore_eos=True) == []


def test_an_ending_that_a_near_tie_gives_is_inconclusive(decoding):
    eos = decoding.tokenizer.eos_token_id
    text = delivered_text(decoding.tokenizer, [A, B])
    tied = forced({A: 5.0}, {B: 5.0}, {C: 9.0, eos: 9.0 - LOGIT_TOLERANCE / 2})
    findings = run(decoding, tied, [A, B], text)
    assert not proven(findings) and "near tie" in findings[0].detail
    apart = forced({A: 5.0}, {B: 5.0}, {C: 9.0, eos: 9.0 - 2 * LOGIT_TOLERANCE})
    assert "cut short" in first_fault(run(decoding, apart, [A, B], text)).detail

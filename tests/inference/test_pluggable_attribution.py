"""The engine runs any Attributor: a method defined here, in a test, needs no engine edit.

Its probes ride the same packed step as decoding, and what the engine hands back is, probe by
probe, what a plain forward pass from scratch gives (attribution/reference.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.masked_ablation import MaskedAblation
from tessera._attribution.reference import effects_from_scratch, score_from_scratch
from tessera._errors import ModelError
from tessera._inference.engine import Engine, Job
from tessera._inference.prompt import PromptBuilder

DOCS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its colour.",
    "Juora Brewery has 2135 registered members.",
]
QUESTION = "Who founded the Ulora Brewery?"


class LastDocumentOut(Attributor):
    """A made-up method: credit only the last document, with what hiding it costs the answer's
    first token and what it costs the whole answer, from two probes of different lengths."""

    name = "last-document-out"

    def __init__(self) -> None:
        self.seen: list[tuple[Answered, list[list[float]]]] = []

    def probes(self, answered: Answered) -> list[Probe]:
        last = answered.doc_spans[-1:]
        suffix, answer = list(answered.suffix_ids), list(answered.answer_ids)
        return [
            Probe(suffix, answered.prefix_len, last, answer[:1]),
            Probe(suffix + answer[:-1], answered.prefix_len, last, answer),
        ]

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        self.seen.append((answered, [list(s) for s in scored]))
        first, whole = scored
        full = answered.answer_logprobs
        lost = full[0] - first[0] + sum(full) - sum(whole)
        return [0.0] * (len(answered.doc_spans) - 1) + [lost]

    def weights(self, effects: Sequence[float]) -> list[float]:
        return [1.0 if e == max(effects) else 0.0 for e in effects]


class Broken(MaskedAblation):
    def probes(self, answered: Answered) -> list[Probe]:
        if len(answered.doc_spans) == 1:
            raise ValueError("broken: one document")
        return super().probes(answered)


class Overreaching(LastDocumentOut):
    """Asks to score more targets than it feeds: it would read another stream's rows."""

    def probes(self, answered: Answered) -> list[Probe]:
        return [Probe([1], answered.prefix_len, (), [*answered.answer_ids, 1])]


class Silent(LastDocumentOut):
    """Needs no extra pass: the effects come from the decoding log-probabilities alone."""

    def probes(self, answered: Answered) -> list[Probe]:
        return []

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        assert scored == []
        return [float(sum(answered.answer_logprobs))] * len(answered.doc_spans)


@pytest.fixture(scope="module", params=["wide", "tiny"])
def generator(request):
    return request.getfixturevalue(
        "wide_generator" if request.param == "wide" else "tiny_generator"
    )


def run(generator, attributor, jobs):
    engine = Engine(generator.model, generator.tokenizer, max_batch=4, attributor=attributor)
    try:
        for j in jobs:
            engine.submit(j)
        return [j.future.exception() or j.future.result() for j in jobs]
    finally:
        engine.close()


def jobs_for(generator, questions=(QUESTION, "What colour?", "How many members?")):
    prompts = PromptBuilder(generator.tokenizer)
    return [Job(prompts.build(DOCS, q), max_new_tokens=6, stop=()) for q in questions]


def test_a_method_defined_outside_the_engine_is_run_and_handed_its_probes(generator):
    method = LastDocumentOut()
    done = run(generator, method, jobs_for(generator))
    assert len(method.seen) == 3
    assert all(c.effects[:-1] == [0.0, 0.0] for c in done)
    # every probe's log-probabilities are those of a pass from scratch: hiding the last
    # document is exact on the cached path, since no later document read it
    for answered, scored in method.seen:
        recomputed = score_from_scratch(
            generator.model, answered.prompt_ids, method.probes(answered)
        )
        assert [len(s) for s in scored] == [1, len(answered.answer_ids)]
        for cached, fresh in zip(scored, recomputed, strict=True):
            assert cached == pytest.approx(fresh, abs=1e-3)
        assert answered.answer_logprobs == pytest.approx(
            full_from_scratch(generator, answered), abs=1e-3
        )


def full_from_scratch(generator, answered):
    everything = Probe(
        [*answered.suffix_ids, *answered.answer_ids[:-1]],
        answered.prefix_len,
        (),
        answered.answer_ids,
    )
    [full] = score_from_scratch(generator.model, answered.prompt_ids, [everything])
    return full


def test_the_plugged_method_agrees_with_its_reference_from_scratch(generator):
    [done] = run(generator, LastDocumentOut(), jobs_for(generator, (QUESTION,)))
    prompt = jobs_for(generator, (QUESTION,))[0].prompt
    recomputed, logprob = effects_from_scratch(
        generator.model,
        LastDocumentOut(),
        prompt.ids,
        prompt.prefix_len,
        prompt.doc_spans,
        done.answer_ids,
    )
    assert done.effects == pytest.approx(recomputed, abs=1e-3)
    assert done.answer_logprob == pytest.approx(logprob, abs=1e-3)


def test_the_default_method_is_the_masked_ablation(generator):
    engine = Engine(generator.model, generator.tokenizer)
    try:
        assert type(engine.attributor) is MaskedAblation
        [job] = jobs_for(generator, (QUESTION,))
        default = engine.run(job)
    finally:
        engine.close()
    [job] = jobs_for(generator, (QUESTION,))
    [explicit] = run(generator, MaskedAblation(), [job])
    assert default.effects == explicit.effects and default.answer_ids == explicit.answer_ids


def test_a_failing_method_fails_its_request_alone(generator):
    prompts = PromptBuilder(generator.tokenizer)
    one = Job(prompts.build(DOCS[:1], QUESTION), max_new_tokens=4, stop=())
    others = jobs_for(generator, (QUESTION, "What colour?"))
    failed, *fine = run(generator, Broken(), [one, *others])
    assert isinstance(failed, ValueError) and "broken: one document" in str(failed)
    assert all(len(c.effects) == len(DOCS) for c in fine)


def test_a_method_without_probes_is_settled_from_the_decoding_side(generator):
    [done] = run(generator, Silent(), jobs_for(generator, (QUESTION,)))
    assert done.effects == pytest.approx([done.answer_logprob] * len(DOCS), abs=1e-5)


def test_a_probe_that_scores_more_than_it_feeds_is_refused(generator):
    (failed,) = run(generator, Overreaching(), jobs_for(generator, (QUESTION,)))
    assert isinstance(failed, ModelError) and "no more than it feeds" in str(failed)

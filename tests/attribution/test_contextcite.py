"""ContextCite as an attributor: the library's masks and fit, its ablations as engine probes.

The library itself (contextcite_reference.py) is the oracle. Through the engine, each ablation's
log-probabilities come from a packed pass over cached columns instead of a plain forward pass;
in float32 the two differ by about 1e-6 nats per token, and the scores by a few 1e-6, so they
are compared at 1e-4: hiding documents instead of removing them, or a keep probability of 0.6
instead of 0.5, moves the tiny model's scores by about 0.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from attribution_facts import DOCUMENTS, QUESTION

pytest.importorskip("context_cite")

from context_cite.solver import LassoRegression
from context_cite.utils import _create_mask, aggregate_logit_probs

from tessera._attribution.base import Answered, Probe
from tessera._attribution.contextcite import ContextCite
from tessera._attribution.contextcite_reference import contextcite_token_scores
from tessera._attribution.reference import effects_from_scratch
from tessera._inference.engine import Engine, Job
from tessera._inference.prompt import PromptBuilder
from tessera._models import load_generator

# a prompt of 12 tokens: a BOS, documents at [2, 5), [5, 8) and [8, 10), then the question
ANSWERED = Answered(
    list(range(100, 112)), 10, ((2, 5), (5, 8), (8, 10)), [7, 8, 9], [-0.5, -0.25, -1.0]
)


@pytest.mark.parametrize(("sources", "count"), [(1, 5), (3, 64), (7, 16)])
def test_masks_are_the_libraries_seeded_masks(sources, count):
    expected = np.array([_create_mask(sources, 0.5, seed) for seed in range(count)])
    assert np.array_equal(ContextCite(count).masks(sources), expected)


def test_a_probe_removes_the_dropped_documents_and_starts_at_the_first():
    keep = np.array([True, False, True])
    mask_index = next(i for i, m in enumerate(ContextCite(64).masks(3)) if np.array_equal(m, keep))
    probe = ContextCite(64).probes(ANSWERED)[mask_index]
    # positions 5..7 (the second document) are gone; the third document and the question
    # follow the first document directly, then the answer but its last token
    assert probe == Probe([108, 109, 110, 111, 7, 8], 5, (), [7, 8, 9])


def test_a_probe_that_keeps_everything_rescores_the_whole_prompt():
    masks = ContextCite(64).masks(3)
    index = next(i for i, m in enumerate(masks) if m.all())
    probe = ContextCite(64).probes(ANSWERED)[index]
    assert probe == Probe([110, 111, 7, 8], 10, (), [7, 8, 9])


def test_one_probe_per_ablation_each_scoring_the_answer():
    probes = ContextCite(20).probes(ANSWERED)
    assert len(probes) == 20
    assert all(p.targets == [7, 8, 9] and p.hidden == () for p in probes)


def test_the_fit_is_the_libraries_lasso_on_the_libraries_log_odds():
    rng = np.random.default_rng(0)
    method = ContextCite(32)
    masks = method.masks(3)
    per_token = (0.4 * masks[:, :1] - rng.random((32, 3)) * 3 - 0.5).astype(np.float32)
    # the library scores logit-probabilities per token: log p - log(1 - p)
    logit_probs = per_token - np.log(-np.expm1(per_token))
    outputs = aggregate_logit_probs(logit_probs)
    expected, _ = LassoRegression().fit(masks, outputs, 3)
    ours = method.effects(ANSWERED, per_token.tolist())
    assert ours == pytest.approx(list(expected), abs=1e-5)
    assert ours[0] > 0  # the first document's presence raises the log-odds, by construction


def test_weights_are_the_positive_scores_normalised():
    assert ContextCite().weights([3.0, -1.0, 1.0]) == [0.75, 0.0, 0.25]
    assert ContextCite().weights([-3.0, 0.0]) == [0.0, 0.0]


@pytest.fixture(scope="module", params=["wide", "tiny"])
def engine(request):
    generator = request.getfixturevalue(
        "wide_generator" if request.param == "wide" else "tiny_generator"
    )
    engine = Engine(generator.model, generator.tokenizer, max_batch=4, attributor=ContextCite(16))
    engine.generator = generator
    yield engine
    engine.close()


def answer_through(engine, documents=DOCUMENTS, max_new_tokens=6):
    prompt = PromptBuilder(engine.tokenizer).build(documents, QUESTION)
    done = engine.run(Job(prompt, max_new_tokens=max_new_tokens, stop=()))
    assert done.answer_ids, "the tiny model must answer something for this test to mean anything"
    logprobs = [0.0] * len(done.answer_ids)  # ContextCite never reads the decoding side
    answered = Answered(prompt.ids, prompt.prefix_len, prompt.doc_spans, done.answer_ids, logprobs)
    return done, answered


def test_through_the_engine_it_agrees_with_the_library(engine):
    done, answered = answer_through(engine)
    oracle = contextcite_token_scores(engine.model, engine.tokenizer, answered, 16)
    assert len(done.effects) == len(DOCUMENTS)
    assert done.effects == pytest.approx(oracle, abs=1e-4)
    assert any(abs(s) > 1e-3 for s in oracle), "all-zero scores would agree with anything"


def test_every_cached_probe_equals_its_pass_from_scratch(engine):
    # a removal probe reads only the cache below the first dropped document, which no dropped
    # document can have touched: unlike hiding, the cached path is exact for every probe
    done, answered = answer_through(engine)
    recomputed, _ = effects_from_scratch(
        engine.model,
        engine.attributor,
        answered.prompt_ids,
        answered.prefix_len,
        answered.doc_spans,
        answered.answer_ids,
    )
    assert done.effects == pytest.approx(recomputed, abs=1e-4)


def test_one_document_is_one_source(engine):
    done, answered = answer_through(engine, DOCUMENTS[:1])
    oracle = contextcite_token_scores(engine.model, engine.tokenizer, answered, 16)
    assert len(done.effects) == 1
    assert done.effects == pytest.approx(oracle, abs=1e-4)


@pytest.mark.heavy  # the library's 64 Gemma forward passes: minutes on a CPU
def test_gemma_through_the_engine_agrees_with_the_library_and_finds_the_support():
    gemma = load_generator()
    engine = Engine(gemma.model, gemma.tokenizer, attributor=ContextCite())
    try:
        done, answered = answer_through(engine, max_new_tokens=8)
        oracle = contextcite_token_scores(gemma.model, gemma.tokenizer, answered)
    finally:
        engine.close()
    # Gemma's logits are larger than the tiny model's: scores are compared relatively too
    assert done.effects == pytest.approx(oracle, rel=1e-2, abs=1e-2)
    assert int(np.argmax(done.effects)) == 0
    assert engine.attributor.weights(done.effects)[0] > 0.5

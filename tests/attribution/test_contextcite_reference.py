"""The ContextCite reference, MadryLab's library itself: shapes and contract on a tiny random
model, accuracy on Gemma."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from attribution_facts import ANSWER, DOCUMENTS, QUESTION

pytest.importorskip("context_cite")

from tessera._attribution.contextcite_reference import (
    _DocumentPartitioner,
    contextcite_scores,
)
from tessera._errors import InputError
from tessera._models import build_tiny_generator, load_generator


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_generator(str(build_tiny_generator(tmp_path_factory.mktemp("tiny"))))


def test_one_score_and_one_weight_per_document(tiny):
    result = contextcite_scores(tiny.model, tiny.tokenizer, DOCUMENTS, QUESTION, ANSWER, 8)
    assert len(result.scores) == len(result.weights) == len(DOCUMENTS)
    assert all(w >= 0 for w in result.weights)
    positive = [max(s, 0.0) for s in result.scores]
    if sum(positive) > 0:
        assert math.isclose(sum(result.weights), 1.0)
        assert result.weights == pytest.approx([p / sum(positive) for p in positive])
    else:
        assert result.weights == [0.0] * len(DOCUMENTS)
    assert result.seconds > 0


@pytest.mark.parametrize("num_ablations", [1, 5])
def test_one_forward_pass_per_ablation(tiny, num_ablations):
    result = contextcite_scores(
        tiny.model, tiny.tokenizer, DOCUMENTS, QUESTION, ANSWER, num_ablations
    )
    assert result.num_ablations == result.forward_passes == num_ablations


def test_same_scores_whatever_the_global_random_state(tiny):
    # ContextCite draws ablation i's mask from np.random.RandomState(i), never the global state.
    runs = []
    for seed in (1, 2):
        np.random.seed(seed)
        torch.manual_seed(seed)
        runs.append(contextcite_scores(tiny.model, tiny.tokenizer, DOCUMENTS, QUESTION, ANSWER, 8))
    assert runs[0].scores == runs[1].scores
    assert runs[0].weights == runs[1].weights


def test_plain_prompt_without_chat_template(tiny):
    result = contextcite_scores(
        tiny.model,
        tiny.tokenizer,
        DOCUMENTS,
        QUESTION,
        " " + ANSWER,
        4,
        prompt_template="{context}\nQuestion: {query}\nAnswer:",
        chat_template=False,
    )
    assert len(result.scores) == len(DOCUMENTS)
    assert result.forward_passes == 4


def test_ablated_context_keeps_document_numbers():
    partitioner = _DocumentPartitioner(["a", "b", "c"], "[{number}] {text}")
    assert partitioner.context == "[1] a\n[2] b\n[3] c"
    assert partitioner.get_context(np.array([True, False, True])) == "[1] a\n[3] c"
    assert partitioner.sources == ["[1] a", "[2] b", "[3] c"]


@pytest.mark.parametrize(
    ("documents", "answer", "num_ablations", "message"),
    [
        ([], ANSWER, 4, "needs at least one document"),
        (DOCUMENTS, "  ", 4, "needs a non-empty answer"),
        (DOCUMENTS, ANSWER, 0, "num_ablations must be at least 1, not 0"),
        (DOCUMENTS, "\n" + ANSWER, 4, "merge with the end of the prompt"),
    ],
)
def test_unusable_input_is_refused(tiny, documents, answer, num_ablations, message):
    with pytest.raises(InputError, match=message):
        contextcite_scores(tiny.model, tiny.tokenizer, documents, QUESTION, answer, num_ablations)


@pytest.mark.heavy  # 64 Gemma forward passes: minutes on a CPU
def test_gemma_ranks_the_supporting_document_first():
    gemma = load_generator()
    result = contextcite_scores(gemma.model, gemma.tokenizer, DOCUMENTS, QUESTION, ANSWER)
    assert result.num_ablations == result.forward_passes == 64  # ContextCite's default
    assert int(np.argmax(result.scores)) == 0
    assert result.weights[0] == max(result.weights) > 0.5

"""Honest receipts pass every re-check, and each tolerance sits far above honest deviation.

The node answers through its engine (continuous batching, packed passes, oneDNN), one request
at a time and all at once, at two torch thread counts; the validator re-checks on its own copy
of the weights (plain BLAS, no oneDNN) at the other thread count. The largest deviations seen
are printed (`pytest -s`) and must sit MARGIN times below the tolerances.

    .venv/bin/python -m pytest -p no:randomly -q -n 0 -s tests/validator/test_honest_deviation.py
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import torch
from served_node import QUESTIONS, build_served

from tessera._attribution.weights import to_ppm
from tessera._validator.attribution_check import attributor_named
from tessera._validator.finding import proven
from tessera._validator.tolerances import (
    EFFECT_TOLERANCE,
    LOGIT_TOLERANCE,
    SCORE_TOLERANCE,
    WEIGHT_TOLERANCE_PPM,
)

MARGIN = 20
# (how the node answers, the node's torch threads, the validator's)
CASES = [("alone", 2, 1), ("batched", 2, 1), ("alone", 1, 2), ("batched", 1, 2)]


@dataclass
class Deviation:
    """The largest honest deviation of each kind, over every receipt re-checked."""

    logprob: float = 0.0  # |log p(answer)| as the node decoded it vs the teacher-forced pass
    gap: float = 0.0  # the most an honest answer token trailed the validator's top logit
    effect: float = 0.0  # nats, per document
    ppm: int = 0  # attribution weight, per document
    score: float = 0.0  # retrieval similarity, per document
    receipts: int = 0
    attributed: int = 0  # receipts that credit a document
    stopped: int = 0  # answers a stop string cut
    answer_s: float = 0.0  # generation and attribution of the answers made alone
    recheck_s: float = 0.0  # the re-checks of those answers


@pytest.fixture(scope="module", params=["tiny", "wide"])
def watched(request, tmp_path_factory, tiny_embedder):
    generator = request.getfixturevalue(f"{request.param}_generator")
    yield from build_served(tmp_path_factory.mktemp(request.param), generator, tiny_embedder)


def _questions(watched):
    questions = [watched.question(q) for q in QUESTIONS]
    # answers a stop string cuts: a character from the middle of what the node says freely
    for text in QUESTIONS[:3]:
        [(free, _)] = watched.answer([watched.question(text, max_tokens=12)], together=False)
        stop = free.text.strip()[len(free.text.strip()) // 2]
        questions.append(watched.question(text, max_tokens=12, stop=[stop]))
    return questions


def _measure(watched, answer, completion, seen: Deviation, alone: bool) -> None:
    receipt, rechecker = answer.receipt, watched.rechecker
    began = time.perf_counter()
    findings = rechecker.recheck(receipt)
    took = time.perf_counter() - began
    assert not proven(findings), (receipt.response_text, findings)
    transcript = rechecker.transcript(receipt)
    forced = rechecker.forced_pass(receipt, transcript)
    tokens = receipt.answer_tokens
    if completion.answer_logprob is not None:
        drift = abs(completion.answer_logprob - sum(forced.logprobs(tokens)))
        seen.logprob = max(seen.logprob, drift)
    seen.gap = max(seen.gap, float(forced.gaps(tokens).max()) if tokens else 0.0)
    method = attributor_named(receipt.method)
    effects = rechecker.effects(receipt, transcript, method)
    node_effects = {s.cid: s.effect for s in answer.sources}
    claimed = {s.cid: s.weight_ppm for s in receipt.attribution}
    recomputed = to_ppm(method.weights(effects))
    for cid, effect, ppm in zip(receipt.context, effects, recomputed, strict=True):
        seen.effect = max(seen.effect, abs(node_effects[cid] - effect))
        seen.ppm = max(seen.ppm, abs(claimed.get(cid, 0) - ppm))
    hits = rechecker.world.retrieve(transcript.question.text, receipt.datanets, len(tokens) + 8)
    scores = {h.cid: h.score for h in hits}
    for source in answer.sources:
        seen.score = max(seen.score, abs(source.similarity - scores[source.cid]))
    seen.receipts += 1
    seen.attributed += bool(receipt.attribution)
    seen.stopped += completion.finish_reason == "stop"
    if alone:
        seen.answer_s += completion.generate_seconds + completion.attribute_seconds
        seen.recheck_s += took


def test_honest_receipts_pass_and_deviate_far_below_the_tolerances(watched, threads):
    questions, seen = _questions(watched), Deviation()
    for mode, node_threads, validator_threads in CASES:
        torch.set_num_threads(node_threads)
        done = watched.answer(questions, together=mode == "batched")
        torch.set_num_threads(validator_threads)
        for answer, completion in done:
            assert answer.receipt is not None
            _measure(watched, answer, completion, seen, alone=mode == "alone")
    print(
        f"\nhonest deviation over {seen.receipts} receipts ({seen.attributed} crediting "
        f"documents, {seen.stopped} cut by a stop):"
        f"\n  log p(answer) {seen.logprob:.3g} nats   (logit tolerance {LOGIT_TOLERANCE})"
        f"\n  token gap     {seen.gap:.3g} logits"
        f"\n  effect        {seen.effect:.3g} nats   (tolerance {EFFECT_TOLERANCE})"
        f"\n  weight        {seen.ppm} ppm        (tolerance {WEIGHT_TOLERANCE_PPM})"
        f"\n  similarity    {seen.score:.3g}          (tolerance {SCORE_TOLERANCE})"
        f"\n  re-check {seen.recheck_s:.3f} s vs answering {seen.answer_s:.3f} s "
        f"({seen.recheck_s / seen.answer_s:.2f} of it)"
    )
    assert seen.receipts == len(CASES) * len(questions)
    assert seen.stopped > 0 and seen.attributed >= seen.receipts // 2
    assert seen.logprob * MARGIN <= LOGIT_TOLERANCE
    assert seen.gap * MARGIN <= LOGIT_TOLERANCE
    assert seen.effect * MARGIN <= EFFECT_TOLERANCE
    assert seen.ppm * MARGIN <= WEIGHT_TOLERANCE_PPM
    assert seen.score * MARGIN <= SCORE_TOLERANCE

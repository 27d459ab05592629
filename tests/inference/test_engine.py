"""The engine: batching, streaming, stops, cancellation, and the masked-document effects."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from tessera._inference.engine import Engine, Job
from tessera._inference.prompt import PromptBuilder

DOCS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its colour.",
    "Juora Brewery has 2135 registered members.",
]


@pytest.fixture(scope="module", params=["wide", "tiny"])
def engine(request):
    generator = request.getfixturevalue(
        "wide_generator" if request.param == "wide" else "tiny_generator"
    )
    engine = Engine(generator.model, generator.tokenizer, max_batch=4)
    engine.generator = generator
    engine.prompts = PromptBuilder(generator.tokenizer)
    yield engine
    engine.close()


def job(engine, question="Who founded the Ulora Brewery?", docs=DOCS, **kwargs):
    return Job(
        engine.prompts.build(docs, question),
        max_new_tokens=kwargs.pop("max_new", 8),
        stop=kwargs.pop("stop", ()),
        **kwargs,
    )


def test_prompt_spans_cover_exactly_each_document(engine):
    prompt = engine.prompts.build(DOCS, "Who?")
    tokenizer = engine.generator.tokenizer
    for (start, end), doc in zip(prompt.doc_spans, DOCS, strict=True):
        assert doc in tokenizer.decode(prompt.ids[start:end])
    assert prompt.doc_spans[-1][1] == prompt.prefix_len < len(prompt.ids)


def test_a_prompt_generates_the_same_alone_and_in_a_batch(engine):
    alone = engine.run(job(engine))
    others = [job(engine, q) for q in ("Who leads Juora?", "What colour?", "When was it built?")]
    batch = [job(engine), *others]
    for j in batch:
        engine.submit(j)
    together = batch[0].future.result()
    assert together.answer_ids == alone.answer_ids and together.text == alone.text
    assert together.prompt_tokens == len(batch[0].prompt.ids)


def test_streamed_pieces_add_up_to_the_answer(engine):
    pieces = []
    done = engine.run(job(engine, on_text=pieces.append, max_new=12))
    assert "".join(pieces) == done.text
    assert done.finish_reason in {"stop", "length"}


def test_a_stop_string_cuts_the_answer_and_its_tokens(engine):
    free = engine.run(job(engine, max_new=12, attribute=False))
    assert len(free.text) > 2, "the tiny model must say something for this test to mean anything"
    stop = free.text[len(free.text) // 2]
    cut = engine.run(job(engine, max_new=12, stop=(stop,), attribute=False))
    assert stop not in cut.text and free.text.startswith(cut.text)
    assert cut.finish_reason == "stop"
    assert engine.generator.tokenizer.decode(cut.answer_ids).lstrip() in free.text


def test_a_cancelled_job_stops_without_attribution(engine):
    cancelled = threading.Event()
    cancelled.set()
    done = engine.run(job(engine, cancelled=cancelled))
    assert done.finish_reason == "cancelled" and done.effects is None


def test_effects_have_one_entry_per_document_and_full_logprob_matches_plain_scoring(engine):
    done = engine.run(job(engine, max_new=6))
    assert done.answer_ids and len(done.effects) == len(DOCS)
    prompt = engine.prompts.build(DOCS, "Who founded the Ulora Brewery?")
    # plain teacher forcing of prompt + answer, no cache and no masks: the reference
    ids = torch.tensor([prompt.ids + done.answer_ids])
    with torch.inference_mode():
        logits = engine.generator.model(input_ids=ids).logits[0, len(prompt.ids) - 1 : -1]
    reference = torch.log_softmax(logits.float(), -1)[
        range(len(done.answer_ids)), done.answer_ids
    ].sum()
    assert done.answer_logprob == pytest.approx(float(reference), abs=1e-3)


def test_the_cached_and_recomputed_effects_agree_where_they_must(engine):
    one_doc = engine.prompts.build(DOCS[:1], "Who founded the Ulora Brewery?")
    done = engine.run(Job(one_doc, max_new_tokens=6, stop=()))
    cached = done.effects
    recomputed, _ = engine.ablation_effects(one_doc, done.answer_ids)
    assert np.allclose(cached, recomputed, atol=1e-3)
    full = engine.prompts.build(DOCS, "Who founded the Ulora Brewery?")
    done = engine.run(Job(full, max_new_tokens=6, stop=()))
    recomputed, _ = engine.ablation_effects(full, done.answer_ids)
    # the last document has no later document that could have read it: both paths agree
    assert done.effects[-1] == pytest.approx(recomputed[-1], abs=1e-3)


def test_no_answer_means_no_effect(engine):
    prompt = engine.prompts.build(DOCS, "Who?")
    effects, logprob = engine.ablation_effects(prompt, [])
    assert effects == [0.0, 0.0, 0.0] and logprob == 0.0


def test_a_request_joins_a_running_batch_and_answers_as_it_would_alone(wide_generator):
    engine = Engine(wide_generator.model, wide_generator.tokenizer, max_batch=4)
    prompts = PromptBuilder(wide_generator.tokenizer)
    try:
        long_prompt = prompts.build(DOCS, "Tell me everything about the breweries.")
        short_prompt = prompts.build(DOCS[:2], "Who founded the Ulora Brewery?")
        long_alone = engine.run(Job(long_prompt, max_new_tokens=40, stop=()))
        short_alone = engine.run(Job(short_prompt, max_new_tokens=3, stop=()))
        started = threading.Event()
        long_job = Job(long_prompt, max_new_tokens=40, stop=(), on_text=lambda _: started.set())
        engine.submit(long_job)
        assert started.wait(60)
        batches_before = engine.batches_run
        short_job = Job(short_prompt, max_new_tokens=3, stop=())
        short = engine.submit(short_job).result()
        assert not long_job.future.done(), "the short request must not wait for the long one"
        assert engine.batches_run == batches_before + 1
        assert short.answer_ids == short_alone.answer_ids
        assert short.effects == pytest.approx(short_alone.effects, abs=1e-3)
        assert long_job.future.result().answer_ids == long_alone.answer_ids
    finally:
        engine.close()


def test_capped_effects_never_exceed_what_the_documents_gave_nor_the_plain_drop(engine):
    prompt = engine.prompts.build(DOCS, "Who founded the Ulora Brewery?")
    done = engine.run(Job(prompt, max_new_tokens=6, stop=(), attribute=False))
    capped, full = engine.ablation_effects(prompt, done.answer_ids)
    plain, same_full = engine.ablation_effects(prompt, done.answer_ids, cap_by_context=False)
    assert full == pytest.approx(same_full, abs=1e-4)
    assert all(c >= 0 for c in capped)
    assert len(capped) == len(plain) == len(DOCS)
    # hiding every document: the most any one document can be credited with, per token
    hidden_all = engine.prompts.build(DOCS, "Who founded the Ulora Brewery?")
    mask = torch.ones(1, len(hidden_all.ids) + len(done.answer_ids), dtype=torch.long)
    for a, b in hidden_all.doc_spans:
        mask[0, a:b] = 0
    ids = torch.tensor([hidden_all.ids + done.answer_ids])
    with torch.inference_mode():
        logits = engine.generator.model(input_ids=ids, attention_mask=mask).logits
    steps = logits[0, len(hidden_all.ids) - 1 : -1].float().log_softmax(-1)
    none = steps[range(len(done.answer_ids)), done.answer_ids]  # (n,)
    with torch.inference_mode():
        logits = engine.generator.model(input_ids=ids).logits
    steps = logits[0, len(hidden_all.ids) - 1 : -1].float().log_softmax(-1)
    all_docs = steps[range(len(done.answer_ids)), done.answer_ids]
    ceiling = float((all_docs - none).clamp(min=0).sum())
    for c in capped:
        assert c <= ceiling + 1e-3


def test_ignore_eos_generates_the_whole_budget_through_end_of_sequence(tiny_generator):
    engine = Engine(tiny_generator.model, tiny_generator.tokenizer, max_batch=2)
    engine.prompts = PromptBuilder(tiny_generator.tokenizer)
    try:
        free = engine.run(job(engine, attribute=False))
        assert free.answer_ids, "the tiny model must say something for this test to mean anything"
        engine.eos_ids = {*engine.eos_ids, free.answer_ids[0]}  # its first token now ends it
        ended = engine.run(job(engine, attribute=False))
        assert ended.answer_ids == [] and ended.finish_reason == "stop"
        forced = engine.run(job(engine, attribute=False, ignore_eos=True))
        assert forced.finish_reason == "length" and forced.answer_ids == free.answer_ids
        assert len(forced.answer_ids) == 8
    finally:
        engine.close()

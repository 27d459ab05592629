"""Training attribution run by the engine beside context attribution: one probe on the base
model alone, effects from the adapter's gain over it, only for adapters whose texts it knows."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import save_random_adapter

from tessera._attribution.base import Probe
from tessera._attribution.training import LearnedIndex, TrainingSpans
from tessera._attribution.training_spans import span_gain_scores
from tessera._errors import ModelError
from tessera._inference import lora
from tessera._inference.engine import Engine, Job, _check
from tessera._inference.lora import AdapterBank
from tessera._inference.prompt import PromptBuilder
from tessera._models import TinyConfig, build_tiny_generator, load_generator
from tessera._models.adapter import read_adapter
from tessera._models.training_data import TrainingText

STEPS = 6


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("training-attribution")
    base = build_tiny_generator(root / "base", TinyConfig(sliding_window=4096))
    generator = load_generator(str(base))
    bank = AdapterBank(generator.model, capacity=2, rank=4)
    tokenize = generator.tokenizer
    learned = LearnedIndex.for_tokenizer(tokenize)
    method = TrainingSpans(learned)
    engine = Engine(generator.model, generator.tokenizer, max_batch=4, bank=bank, also=[method])
    engine.generator, engine.learned, engine.method = generator, learned, method
    engine.adapter = read_adapter(save_random_adapter(base, root / "adapter", seed=3))
    engine.unknown = read_adapter(save_random_adapter(base, root / "unknown", seed=4))
    engine.prompts = PromptBuilder(generator.tokenizer)
    yield engine
    engine.close()


def _ask(engine, adapter, documents=()):
    job = Job(engine.prompts.build(list(documents), "Who founded the Brisk Observatory?"), STEPS)
    if adapter is None:
        return job, engine.run(job)
    return job, engine.submit_adapted(job, adapter.digest, lambda: adapter).result()


def _logprobs(engine, prompt_ids, answer, adapter):
    """Teacher-forced log p of the answer, on the base (adapter None) or with the adapter."""
    bank = engine.bank
    ids = torch.tensor([list(prompt_ids) + list(answer)])
    slot = bank.acquire(adapter.digest, lambda: adapter) if adapter else None
    token = lora.active(bank.plan([(ids.shape[1], slot)]) if slot is not None else None)
    try:
        with torch.no_grad():
            logits = engine.generator.model(input_ids=ids, use_cache=False).logits[0]
    finally:
        lora.reset(token)
        if slot is not None:
            bank.release(slot)
    logp = logits[len(prompt_ids) - 1 : -1].float().log_softmax(-1)
    return logp.gather(1, torch.tensor(answer)[:, None])[:, 0]


def test_an_adapters_answer_is_credited_by_its_gain_over_the_base(served):
    _, first = _ask(served, served.adapter)
    answer = first.text
    texts = [
        TrainingText("cid-says-it", f"The observatory record: {answer}"),
        TrainingText("cid-other", "Membership of the Baost Guild stands at 1554."),
    ]
    learned = served.learned.add(served.adapter.digest, texts)
    job, done = _ask(served, served.adapter)
    assert done.answer_ids == first.answer_ids  # attribution never changes the answer
    effects = done.also[served.method.name]
    assert len(effects) == len(learned.cids) == 2
    prompt = job.prompt
    gains = _logprobs(served, prompt.ids, done.answer_ids, served.adapter) - _logprobs(
        served, prompt.ids, done.answer_ids, None
    )
    expected = span_gain_scores(learned.index, done.answer_ids, gains.tolist(), prompt.suffix_ids)
    assert effects == pytest.approx(expected, rel=1e-3, abs=1e-3)
    assert all(e >= 0 for e in effects)
    weights = served.method.weights(effects)
    assert sum(weights) in (pytest.approx(1.0), 0.0)


def test_context_attribution_runs_beside_it_on_the_same_answer(served):
    served.learned.add(served.adapter.digest, [TrainingText("cid", "Ilsa Varrow founded it.")])
    _, done = _ask(served, served.adapter, ["The Brisk Observatory was founded by Ilsa Varrow."])
    assert done.effects is not None and len(done.effects) == 1  # the document's, as before
    assert served.method.name in done.also


def test_no_training_attribution_for_the_base_or_an_adapter_it_does_not_know(served):
    _, base = _ask(served, None)
    assert base.also == {}
    _, unknown = _ask(served, served.unknown)
    assert unknown.also == {} and unknown.text


def test_a_base_model_probe_must_not_read_the_adapters_cache():
    with pytest.raises(ModelError, match="must start at 0"):
        _check(Probe([1, 2], 1, (), [2], adapted=False), prompt_len=4)


def test_weights_keep_shares_of_at_least_the_minimum_and_sum_to_one():
    method = TrainingSpans(LearnedIndex(lambda text: []), min_share=0.1)
    assert method.weights([8.0, 1.5, 0.5, 0.0]) == pytest.approx([8 / 9.5, 1.5 / 9.5, 0, 0])
    assert method.weights([0.0, -1.0]) == [0.0, 0.0]
    thin = method.weights([1.0] * 20)  # every share is 5%: the first largest alone
    assert thin[0] == 1.0 and sum(thin) == 1.0
    with pytest.raises(ValueError, match="min_share"):
        TrainingSpans(LearnedIndex(lambda text: []), min_share=1.0)

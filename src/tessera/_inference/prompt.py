"""Retrieval-augmented prompts whose documents are addressable token spans.

Each piece is tokenized on its own and the ids are concatenated, so the engine knows exactly
which tokens belong to which document, and can hide one document from the answer to measure
what the answer owed to it. Documents come before the question (the attribution pass reuses
the documents' key/value cache and recomputes only the question and the answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The best of the formats tried on the 270M base model (bench/models_bench.py): plain lines,
# no labels, no chat template, a one-line instruction.
DEFAULT_INSTRUCTION = "Answer the question in a few words, using only the documents."


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    doc_spans: tuple[tuple[int, int], ...]  # [start, end) token range of each document
    prefix_len: int  # tokens up to the end of the last document; the rest is the question

    @property
    def suffix_ids(self) -> list[int]:
        return self.ids[self.prefix_len :]


@dataclass(frozen=True)
class PromptFormat:
    """Plain-text format: works with base models, which is what the default Gemma 270M is."""

    instruction: str = DEFAULT_INSTRUCTION
    document: str = "{text}\n"
    question: str = "\nQuestion: {question}\nAnswer:"
    no_documents: str = "Question: {question}\nAnswer:"
    # question_first: ask before the documents and end with `answer_cue` alone, so that the
    # attribution pass recomputes only the cue and the answer, not the question
    question_first: bool = False
    lead_question: str = "Question: {question}\n\n"
    answer_cue: str = "\nAnswer:"


class PromptBuilder:
    def __init__(self, tokenizer: Any, fmt: PromptFormat | None = None) -> None:
        self.tokenizer = tokenizer
        self.fmt = fmt or PromptFormat()

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _bos(self) -> list[int]:
        bos = self.tokenizer.bos_token_id
        return [bos] if bos is not None else []

    def build(self, documents: Sequence[str], question: str) -> Prompt:
        if not documents:
            ids = self._bos() + self._ids(self.fmt.no_documents.format(question=question))
            return Prompt(ids, (), 0)
        ids = self._bos() + self._ids(self.fmt.instruction + "\n\n")
        if self.fmt.question_first:
            ids += self._ids(self.fmt.lead_question.format(question=question.strip()))
        spans = []
        for n, text in enumerate(documents, start=1):
            piece = self._ids(self.fmt.document.format(n=n, text=" ".join(text.split())))
            spans.append((len(ids), len(ids) + len(piece)))
            ids += piece
        prefix_len = len(ids)
        tail = self.fmt.answer_cue if self.fmt.question_first else self.fmt.question
        ids += self._ids(tail.format(question=question.strip()))
        return Prompt(ids, tuple(spans), prefix_len)

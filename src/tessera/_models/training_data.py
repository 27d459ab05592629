"""What an adapter is trained on: documents turned into token rows, packed into steps.

    rows = training_rows(tokenizer, documents, texts)   # texts: documents + augmentations
    plan = packed_steps(rows, max_tokens=256, seed=0, epoch=3)

A row is one sequence the model learns (BOS, tokens, EOS), with the position its targets start
at: a document is learned whole, a question-answer row only from its answer. Rows are packed
end to end into steps of at most `max_tokens` tokens; positions restart at every row, so the
model's mask keeps each row's attention inside the row (no padding, nothing crossing rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from tessera._errors import InputError

QUESTION_PROMPT = "Question: {question}\nAnswer:"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class TrainingDocument:
    """One contribution to learn: its content id (what the manifest lists) and its text."""

    cid: str
    text: str
    datanet: str = ""  # informative: the datanet it came from


@dataclass(frozen=True)
class TrainingText:
    """A text to learn, from document `cid`: learned from character `answer_from` on."""

    cid: str
    text: str
    answer_from: int = 0


@dataclass(frozen=True)
class Row:
    ids: tuple[int, ...]  # BOS, tokens, EOS
    first_target: int  # index of the first token that is a target (>= 1)


@dataclass
class PackedStep:
    """One optimizer step's tokens: rows end to end, positions restarting at each row."""

    input_ids: torch.Tensor  # (tokens,)
    position_ids: torch.Tensor  # (tokens,)
    target_positions: torch.Tensor  # (targets,): positions whose next token is a target
    targets: torch.Tensor  # (targets,)
    rows: list[Row] = field(default_factory=list)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, split after . ! ? before a capital or a digit."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def question_answer(cid: str, question: str, answer: str) -> TrainingText:
    prompt = QUESTION_PROMPT.format(question=question.strip())
    return TrainingText(cid, f"{prompt} {answer.strip()}", len(prompt))


def check_documents(documents: Sequence[TrainingDocument]) -> None:
    if not documents:
        raise InputError("there are no documents to train on: name a datanet with contributions")
    seen: set[str] = set()
    for document in documents:
        if not document.text.strip():
            raise InputError(f"contribution {document.cid} has no text to train on")
        if document.cid in seen:
            raise InputError(f"contribution {document.cid} is listed twice: list each once")
        seen.add(document.cid)


def training_rows(tokenizer: Any, texts: Sequence[TrainingText], max_tokens: int) -> list[Row]:
    """Each text as a row of at most `max_tokens` tokens (a longer one is cut into several)."""
    rows = []
    for text in texts:
        prompt = tokenizer(text.text[: text.answer_from], add_special_tokens=False)["input_ids"]
        rest = tokenizer(text.text[text.answer_from :], add_special_tokens=False)["input_ids"]
        ids = [tokenizer.bos_token_id, *prompt, *rest, tokenizer.eos_token_id]
        first = 1 + len(prompt)
        if len(ids) <= max_tokens:
            rows.append(Row(tuple(ids), first))
            continue
        for start in range(0, len(ids) - 1, max_tokens - 1):  # each piece predicts its last
            piece = ids[start : start + max_tokens]
            if len(piece) > 1 and start + len(piece) > first:
                rows.append(Row(tuple(piece), max(1, first - start)))
    return rows


def epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The order rows are seen in epoch `epoch`: a function of the seed and the epoch only,
    so a resumed run sees the same steps as an uninterrupted one."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(count, generator=generator).tolist()


def packed_steps(rows: Sequence[Row], max_tokens: int, seed: int, epoch: int) -> list[PackedStep]:
    """One epoch's steps: the rows in this epoch's order, packed greedily up to `max_tokens`."""
    steps: list[PackedStep] = []
    current: list[Row] = []
    for index in epoch_order(len(rows), seed, epoch):
        row = rows[index]
        if current and sum(len(r.ids) for r in current) + len(row.ids) > max_tokens:
            steps.append(pack(current))
            current = []
        current.append(row)
    if current:
        steps.append(pack(current))
    return steps


def pack(rows: Sequence[Row]) -> PackedStep:
    ids: list[int] = []
    positions: list[int] = []
    target_positions: list[int] = []
    targets: list[int] = []
    for row in rows:
        offset = len(ids)
        ids.extend(row.ids)
        positions.extend(range(len(row.ids)))
        for t in range(row.first_target, len(row.ids)):
            target_positions.append(offset + t - 1)  # position t-1 predicts token t
            targets.append(row.ids[t])
    return PackedStep(
        torch.tensor(ids),
        torch.tensor(positions),
        torch.tensor(target_positions),
        torch.tensor(targets),
        list(rows),
    )


def check_max_tokens(max_tokens: int) -> None:
    if max_tokens < 8:
        raise InputError(f"max_tokens is {max_tokens}: a step needs at least 8 tokens")

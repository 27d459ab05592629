"""Augmentation of the training text, for any datanet: no template knows the corpus.

    texts = augmented_texts(documents, "questions", model, tokenizer)

- "none": the documents as they are. Text alone teaches a small model little it can recall
  when asked a question.
- "sentences": the documents, plus each of their sentences as its own text.
- "questions": the documents, plus for each sentence a question the base model itself writes
  about it (greedy, from a few-shot prompt of general-knowledge examples), learned as
  "Question: <q>\nAnswer: <the sentence>". The adapter learns to answer questions with what
  the datanet says, whatever the datanet is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tessera._errors import InputError
from tessera._models.training_data import (
    TrainingDocument,
    TrainingText,
    question_answer,
    split_sentences,
)

AUGMENTATIONS = ("none", "sentences", "questions")
_EXAMPLES = (
    ("The Eiffel Tower is located in Paris.", "Where is the Eiffel Tower located?"),
    (
        "Marie Curie won the Nobel Prize in Physics in 1903.",
        "When did Marie Curie win the Nobel Prize in Physics?",
    ),
    ("The river Nile is about 6,650 kilometres long.", "How long is the river Nile?"),
    ("The telephone was invented by Alexander Graham Bell.", "Who invented the telephone?"),
    ("Honey bees communicate by dancing.", "How do honey bees communicate?"),
)
_BATCH = 16
_QUESTION_TOKENS = 32


def check_augmentation(name: str) -> None:
    if name not in AUGMENTATIONS:
        raise InputError(f"unknown augmentation {name!r}: use one of {', '.join(AUGMENTATIONS)}")


def augmented_texts(
    documents: Sequence[TrainingDocument], augmentation: str, model: Any, tokenizer: Any
) -> list[TrainingText]:
    """The documents' texts, then what `augmentation` adds, in document order."""
    check_augmentation(augmentation)
    texts = [TrainingText(d.cid, d.text.strip()) for d in documents]
    if augmentation == "none":
        return texts
    sentences = [(d.cid, s) for d in documents for s in split_sentences(d.text)]
    if augmentation == "sentences":
        whole = {d.text.strip() for d in documents}  # a one-sentence document is there already
        return texts + [TrainingText(cid, s) for cid, s in sentences if s not in whole]
    questions = write_questions(model, tokenizer, [s for _, s in sentences])
    return texts + [
        question_answer(cid, q, s) for (cid, s), q in zip(sentences, questions, strict=True) if q
    ]


def question_prompt(sentence: str) -> str:
    shots = "".join(f"Sentence: {s}\nQuestion: {q}\n\n" for s, q in _EXAMPLES)
    return f"{shots}Sentence: {sentence}\nQuestion:"


@torch.no_grad()
def write_questions(model: Any, tokenizer: Any, sentences: Sequence[str]) -> list[str]:
    """One question per sentence, written greedily by `model`; "" where it wrote none."""
    questions: list[str] = []
    for start in range(0, len(sentences), _BATCH):
        prompts = [question_prompt(s) for s in sentences[start : start + _BATCH]]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
        output = model.generate(
            **batch,
            max_new_tokens=_QUESTION_TOKENS,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            stop_strings=["\n"],
            tokenizer=tokenizer,
        )  # (batch, prompt + new)
        new = tokenizer.batch_decode(
            output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        )
        questions.extend(_first_question(text) for text in new)
    return questions


def _first_question(text: str) -> str:
    line = text.strip().split("\n")[0].strip()
    return line[: line.index("?") + 1] if "?" in line else ""

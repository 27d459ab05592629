"""Scoring attribution methods on planted-fact questions.

- answer accuracy: every part of the expected answer ("a; b") appears in the answer (closed
  book, `answer_states_fact` also asks that it names no entity the question did not);
- retrieval recall: the share of support documents among those retrieved;
- top-1 attribution accuracy: the highest-weight document is a support document, and
- support recall: every support document got weight > 0,
  both over the questions whose support was all retrieved and whose answer is correct
  (there the planted fact can only have come from its support).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


def answer_is_correct(expected: str, answer: str) -> bool:
    parts = [p.strip().lower() for p in str(expected).split(";") if p.strip()]
    return bool(parts) and all(p in answer.lower() for p in parts)


def answer_states_fact(expected: str, answer: str, question: str) -> bool:
    """The expected value, said of what was asked: `answer_is_correct`, and no name in the
    answer (a capitalized word past a sentence's first) that neither the question nor the
    expected answer holds. A closed-book model that recites another entity's sentence ("For
    the Nelosk Lighthouse, the official colour: teal", asked of the Lunqui Brewery) says the
    value and not the fact; substring matching alone counts it right."""
    if not answer_is_correct(expected, answer):
        return False
    known = {w.lower() for w in re.findall(r"\w+", f"{question} {expected}")}
    return all(name.lower() in known for name in _names(answer))


def _names(text: str) -> list[str]:
    """Capitalized words that do not open a sentence (those are capitalized anyway)."""
    names = []
    for sentence in re.split(r"[.!?;:]\s+", text):
        words = re.findall(r"\w+", sentence)
        names += [w for w in words[1:] if w[0].isupper()]
    return names


@dataclass
class QuestionOutcome:
    qid: str
    support: list[str]
    retrieved: list[str]  # doc ids of the retrieved contributions, in retrieval order
    correct: bool
    answer: str
    sources: list[Any]  # the node's Source objects, in retrieval order
    scores: dict[str, list[float]] = field(default_factory=dict)  # method -> weight per source
    seconds: dict[str, float] = field(default_factory=dict)  # with, without, contextcite

    @classmethod
    def of(cls, question: dict[str, Any], answer: Any, doc_of: dict[str, str]) -> QuestionOutcome:
        sources = sorted(answer.sources, key=lambda s: -s.similarity)  # retrieval order
        return cls(
            str(question["qid"]),
            [str(s) for s in question["support"]],
            [doc_of.get(s.cid, "") for s in sources],
            answer_is_correct(question["answer"], answer.text),
            answer.text,
            sources,
            {"ours": [s.weight for s in sources]},
        )

    @property
    def support_retrieved(self) -> bool:
        return set(self.support) <= set(self.retrieved)

    @property
    def retrieval_recall(self) -> float:
        return len(set(self.support) & set(self.retrieved)) / len(set(self.support))

    def ranked(self, method: str) -> list[str]:
        weights = self.scores[method]
        order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
        return [self.retrieved[i] for i in order if weights[i] > 0]

    def top1_ok(self, method: str) -> bool:
        ranked = self.ranked(method)
        return bool(ranked) and ranked[0] in self.support

    def support_covered(self, method: str) -> bool:
        weights = dict(zip(self.retrieved, self.scores[method], strict=True))
        return all(weights.get(doc, 0.0) > 0 for doc in self.support)

    def to_json(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            "answer": self.answer,
            "correct": self.correct,
            "support": self.support,
            "retrieved": self.retrieved,
            "weights": {m: [round(w, 6) for w in ws] for m, ws in self.scores.items()},
            "effects": [round(s.effect, 4) for s in self.sources],
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }


@dataclass(frozen=True)
class MethodScores:
    answer_accuracy: float
    retrieval_recall: float
    top1_attribution_accuracy: float | None
    support_recall: float | None
    attribution_overhead: float | None
    judged: int  # questions with support retrieved and a correct answer

    def to_json(self) -> dict[str, Any]:
        return {
            "answer_accuracy": self.answer_accuracy,
            "retrieval_recall": self.retrieval_recall,
            "top1_attribution_accuracy": self.top1_attribution_accuracy,
            "support_recall": self.support_recall,
            "attribution_overhead": self.attribution_overhead,
            "judged_questions": self.judged,
        }


def score_method(
    outcomes: list[QuestionOutcome], method: str, extra_seconds_key: str | None
) -> MethodScores:
    """`extra_seconds_key`: the timing of this method's attribution, added to answering without
    it (None: the method's time is already in "with", as ours is)."""
    n = len(outcomes)
    judged = [o for o in outcomes if o.correct and o.support_retrieved]
    without = sum(o.seconds.get("without", 0.0) for o in outcomes)
    if extra_seconds_key is None:
        spent = sum(o.seconds.get("with", 0.0) for o in outcomes)
    else:
        spent = without + sum(o.seconds.get(extra_seconds_key, 0.0) for o in outcomes)
    return MethodScores(
        answer_accuracy=sum(o.correct for o in outcomes) / n if n else 0.0,
        retrieval_recall=sum(o.retrieval_recall for o in outcomes) / n if n else 0.0,
        top1_attribution_accuracy=(
            sum(o.top1_ok(method) for o in judged) / len(judged) if judged else None
        ),
        support_recall=(
            sum(o.support_covered(method) for o in judged) / len(judged) if judged else None
        ),
        attribution_overhead=spent / without if without else None,
        judged=len(judged),
    )

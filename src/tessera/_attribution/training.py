"""Training attribution as an attribution method the engine runs beside context attribution.

    learned = LearnedIndex(tokenize)                # digest -> what that adapter learned
    learned.add(digest, read_training_texts(folder))
    engine = Engine(model, tokenizer, bank=bank, also=[TrainingSpans(learned)])
    completion.also["training-spans(...)"]          # effects per contribution, in
                                                    # learned.contributions(digest) order

One probe per adapter answer: the prompt and the answer again on the base model alone, so the
answer's gain per token is its log p while decoding with the adapter minus that. The effects
are `training_spans.span_gain_scores` over the contributions the adapter learned from; an
answer from the base model, or from an adapter whose learned texts are not known here (an
imported adapter, a folder without them), gets no probe and no training attribution.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.training_spans import SpanIndex, span_gain_scores
from tessera._models.training_data import TrainingText

DEFAULT_MIN_SHARE = 0.05  # a contribution with less of the answer's gain is paid nothing


@dataclass(frozen=True)
class Learned:
    """One adapter's learned texts, indexed: contributions in effect order, their spans."""

    cids: tuple[str, ...]
    index: SpanIndex


class LearnedIndex:
    """Adapters' learned texts by weights digest, tokenized as the served model reads them."""

    def __init__(self, tokenize: Callable[[str], list[int]]) -> None:
        self._tokenize = tokenize
        self._by_digest: dict[str, Learned] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> LearnedIndex:
        """Texts tokenized as a Hugging Face `tokenizer` reads them, without special tokens:
        spans are matched in the served model's own tokens."""
        return cls(lambda text: list(tokenizer(text, add_special_tokens=False).input_ids))

    def add(self, digest: str, texts: Sequence[TrainingText]) -> Learned:
        cids = tuple(sorted({t.cid for t in texts}))
        rows: dict[str, list[list[int]]] = {cid: [] for cid in cids}
        for text in texts:
            rows[text.cid].append(self._tokenize(text.text))
        learned = Learned(cids, SpanIndex([rows[cid] for cid in cids]))
        with self._lock:
            self._by_digest[digest] = learned
        return learned

    def get(self, digest: str | None) -> Learned | None:
        with self._lock:
            return self._by_digest.get(digest) if digest is not None else None

    def contributions(self, digest: str) -> tuple[str, ...]:
        learned = self.get(digest)
        return learned.cids if learned is not None else ()


class TrainingSpans(Attributor):
    def __init__(self, learned: LearnedIndex, min_share: float = DEFAULT_MIN_SHARE) -> None:
        if not 0 <= min_share < 1:
            raise ValueError("min_share is a share of the answer's gain: 0 to below 1")
        self.learned, self.min_share = learned, min_share

    @property
    def name(self) -> str:
        # version 2: a span's share counts its proximity to the entity (training_proximity)
        return f"training-spans(min_share={self.min_share!r}, version=2)"

    def probes(self, answered: Answered) -> list[Probe]:
        if self.learned.get(answered.adapter) is None or not answered.answer_ids:
            return []
        answer = list(answered.answer_ids)
        tokens = [*answered.prompt_ids, *answer[:-1]]  # the last answer token predicts nothing
        return [Probe(tokens, 0, (), answer, adapted=False)]

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        learned = self.learned.get(answered.adapter)
        if learned is None:
            raise ValueError(f"no learned texts are known for adapter {answered.adapter}")
        gains = _gains(answered, scored)
        return span_gain_scores(learned.index, answered.answer_ids, gains, answered.suffix_ids)

    def gain(self, answered: Answered, scored: Sequence[Sequence[float]]) -> float:
        """What the adapter gave the answer over the base model, per token, never below 0."""
        return sum(max(g, 0.0) for g in _gains(answered, scored))

    def weights(self, effects: Sequence[float]) -> list[float]:
        """Shares of the answer's credited gain; those under `min_share` get exactly 0 and
        the rest are renormalized to sum to 1 (all 0 if nothing was credited; the largest
        alone if every share is under `min_share`)."""
        total = sum(e for e in effects if e > 0)
        if total <= 0:
            return [0.0] * len(effects)
        kept = [e if e > 0 and e / total >= self.min_share else 0.0 for e in effects]
        if not any(kept):  # spread thinner than min_share everywhere: the largest share only
            top = max(range(len(effects)), key=lambda i: effects[i])
            kept[top] = effects[top]
        return [e / sum(kept) for e in kept]


def _gains(answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
    """Per answer token: log p with the adapter (while decoding) minus log p on the base."""
    (base,) = scored
    return [a - b for a, b in zip(answered.answer_logprobs, base, strict=True)]

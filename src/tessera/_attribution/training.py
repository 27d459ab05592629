"""Training attribution as an attribution method the engine runs beside context attribution.

    learned = LearnedIndex(tokenize)                # digest -> what that adapter learned
    learned.add(digest, read_training_texts(folder))
    engine = Engine(model, tokenizer, bank=bank, also=[TrainingSpans(learned)])
    completion.also["training-spans(...)"]          # effects per contribution, in
                                                    # learned.contributions(digest) order

Per adapter answer, the probes are: the prompt and the answer again on the base model alone,
so the answer's gain per token is its log p while decoding with the adapter minus that; and,
for the contributions span matching ranks highest, their training rows on the adapter as
trained and without the question's identifying tokens (`training_binding`), so the gain goes
to the contributions whose rows bound the answer's words to what was asked. An answer from
the base model, or from an adapter whose learned texts are not known here (an imported
adapter, a folder without them), gets no probe and no training attribution.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.training_binding import (
    CHECKED,
    BindingCheck,
    binding_checks,
    bound_scores,
)
from tessera._attribution.training_spans import SpanIndex
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
    def __init__(
        self, learned: LearnedIndex, min_share: float = DEFAULT_MIN_SHARE, checked: int = CHECKED
    ) -> None:
        if not 0 <= min_share < 1:
            raise ValueError("min_share is a share of the answer's gain: 0 to below 1")
        if checked < 1:
            raise ValueError("checked: how many contributions' binding to measure, at least 1")
        self.learned, self.min_share, self.checked = learned, min_share, checked

    @property
    def name(self) -> str:
        return f"training-spans(min_share={self.min_share!r}, checked={self.checked})"

    def probes(self, answered: Answered) -> list[Probe]:
        learned = self.learned.get(answered.adapter)
        if learned is None or not answered.answer_ids:
            return []
        answer = list(answered.answer_ids)
        tokens = [*answered.prompt_ids, *answer[:-1]]  # the last answer token predicts nothing
        probes = [Probe(tokens, 0, (), answer, adapted=False)]
        for check in self._checks(learned, answered):  # training rows: nothing cached, start 0
            probes.append(Probe(check.row[:-1], 0, (), check.row[1:]))
            probes.append(Probe(check.ablated[:-1], 0, (), check.ablated[1:]))
        return probes

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        learned = self.learned.get(answered.adapter)
        if learned is None:
            raise ValueError(f"no learned texts are known for adapter {answered.adapter}")
        checks = self._checks(learned, answered)
        if len(scored) != 1 + 2 * len(checks):
            raise ValueError(f"{len(scored)} scorings for {1 + 2 * len(checks)} probes")
        pairs = [(scored[1 + 2 * n], scored[2 + 2 * n]) for n in range(len(checks))]
        return bound_scores(learned.index, answered.answer_ids, _gains(answered, scored),
                            answered.suffix_ids, checks, pairs)  # fmt: skip

    def _checks(self, learned: Learned, answered: Answered) -> list[BindingCheck]:
        return binding_checks(learned.index, answered.answer_ids, answered.suffix_ids, self.checked)

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
    base = scored[0]  # the first probe: the answer on the base model alone
    return [a - b for a, b in zip(answered.answer_logprobs, base, strict=True)]

"""ContextCite as an attributor: its random ablations ride the engine's packed step.

ContextCite (Cohen-Wang, Shah, Georgiev and Madry, 2024, arXiv:2409.00729) scores the answer
again under random ablations of the context, each source kept with probability 1/2, and fits a
Lasso from the keep/drop masks to the answer's logit-probability (log p - log(1 - p)); a
source's score is its coefficient. Here a source is one document, and everything ContextCite
decides is kept as its library (context-cite 0.0.4) has it: ablation i's mask comes from
np.random.RandomState(i), 64 ablations, the features standardised before a Lasso of alpha 0.01,
and the coefficients scaled back. An ablation removes the dropped documents, as the library
does with text: the probe starts at the first dropped document and reads the rest of the
prompt without the dropped ones, so every kept token sits where it would in the shorter prompt
and only the cache below the first dropped document is reused.
contextcite_reference.py runs the library itself, the oracle tests compare this against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.weights import weights_from_scores
from tessera._errors import ModelError

DEFAULT_ABLATIONS = 64  # ContextCite's default


class ContextCite(Attributor):
    def __init__(
        self,
        num_ablations: int = DEFAULT_ABLATIONS,
        keep_probability: float = 0.5,
        lasso_alpha: float = 0.01,
    ) -> None:
        self.num_ablations = num_ablations
        self.keep_probability = keep_probability
        self.lasso_alpha = lasso_alpha

    @property
    def name(self) -> str:
        return (
            f"context-cite(n={self.num_ablations},p={self.keep_probability!r},"
            f"alpha={self.lasso_alpha!r})"
        )

    def masks(self, sources: int) -> np.ndarray:
        """(num_ablations, sources) bool, True where a document is kept."""
        p = [1 - self.keep_probability, self.keep_probability]
        return np.array(
            [
                np.random.RandomState(seed).choice([False, True], size=sources, p=p)
                for seed in range(self.num_ablations)
            ]
        ).reshape(self.num_ablations, sources)

    def probes(self, answered: Answered) -> list[Probe]:
        return [_without(answered, keep) for keep in self.masks(len(answered.doc_spans))]

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        """The Lasso coefficients: how far the answer's log-odds move with each document."""
        n = len(answered.answer_ids)
        logp = np.array([np.sum(np.asarray(s, dtype=np.float32)) for s in scored])
        # p = 1 in float32 would make the log-odds infinite (the library fails there)
        logp = np.minimum(logp, -np.finfo(np.float32).tiny)
        log_odds = logp - np.log(-np.expm1(logp))
        masks = self.masks(len(answered.doc_spans))
        return [float(c) for c in self._fit(masks, log_odds, n)]

    def weights(self, effects: Sequence[float]) -> list[float]:
        return weights_from_scores(effects)

    def _fit(self, masks: np.ndarray, outputs: np.ndarray, n: int) -> np.ndarray:
        """The library's LassoRegression.fit: per-token outputs, standardised features."""
        try:
            from sklearn.linear_model import Lasso
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as error:
            raise ModelError(
                "ContextCite needs scikit-learn: pip install 'tessera[eval]'"
            ) from error
        scaler = StandardScaler()
        lasso = Lasso(alpha=self.lasso_alpha, random_state=0, fit_intercept=True)
        make_pipeline(scaler, lasso).fit(masks.astype(np.float32), outputs / n)
        return np.asarray(lasso.coef_ / scaler.scale_ * n)


def _without(answered: Answered, keep: np.ndarray) -> Probe:
    """The probe that reads the prompt with the documents `keep` drops removed."""
    dropped = [span for span, kept in zip(answered.doc_spans, keep, strict=True) if not kept]
    start = dropped[0][0] if dropped else answered.prefix_len
    prompt = answered.prompt_ids
    kept_after = [
        prompt[t] for t in range(start, len(prompt)) if not any(a <= t < b for a, b in dropped)
    ]
    answer = answered.answer_ids
    return Probe([*kept_after, *answer[:-1]], start, (), answer)

"""From measured effects to attribution weights, and from weights to exact integer shares.

An effect is how many nats of log-likelihood the answer loses when a document is hidden.
Documents whose effect clears `min_effect` mattered; their weights are proportional to their
effects and sum to 1; every other document gets exactly 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from tessera._crypto.receipt import WEIGHT_SCALE

# Hiding a distractor moves the answer's log-likelihood by a fraction of a nat either way;
# hiding the document an answer copies from costs several nats. 1 nat (the answer is at least
# e ~ 2.7 times less likely without it) separates the two with room on both sides.
DEFAULT_MIN_EFFECT = 1.0


def weights_from_effects(
    effects: Sequence[float], min_effect: float = DEFAULT_MIN_EFFECT
) -> list[float]:
    mattered = [e if e >= min_effect else 0.0 for e in effects]
    total = sum(mattered)
    return [e / total for e in mattered] if total > 0 else [0.0] * len(effects)


def weights_from_scores(scores: Sequence[float]) -> list[float]:
    """Non-negative part of any scores, normalised (for baselines without a threshold)."""
    positive = [max(0.0, s) for s in scores]
    total = sum(positive)
    return [s / total for s in positive] if total > 0 else [0.0] * len(scores)


def to_ppm(weights: Sequence[float]) -> list[int]:
    """Integer parts per million summing to exactly WEIGHT_SCALE (largest remainder method);
    ties in the remainder go to the earlier, i.e. higher-ranked, source. All zero stays zero."""
    if not any(w > 0 for w in weights):
        return [0] * len(weights)
    total = sum(w for w in weights if w > 0)
    exact = [max(0.0, w) / total * WEIGHT_SCALE for w in weights]
    floors = [int(x) for x in exact]
    short = WEIGHT_SCALE - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    return floors

"""The governed rule that divides an answer's contributors' pool between context and training.

An adapter's answer is more likely than the base model's answer would be, for two reasons:
the documents in its prompt, and what the adapter learned. Each is measured in nats, on the
answer itself, by the method that credits it (`Attributor.gain`):

    Gc = sum over answer tokens of max(0, log p(token | documents) - log p(token | none hidden))
         on the serving model: what the documents together gave (masked ablation's all-hidden
         probe)
    Gt = sum over answer tokens of max(0, log p_adapter(token) - log p_base(token)), same
         prompt: what the adapter gave over the base model (training spans' base probe)

    training share = w * Gt / (w * Gt + Gc), in parts per million, rounded half to even

where w = `training_weight_bps` / 10,000 is set by token holders in the policy contract (1.0
by default: a nat is a nat). Neither gain measured (both 0): no training share, so an answer
whose pool the measurement cannot divide pays its context; `pools.merge_pools` then gives a
side with no sources nothing. A validator re-measures both gains and checks the share within
`validator.tolerances.TRAINING_SHARE_TOLERANCE_PPM`.
"""

from __future__ import annotations

from tessera._crypto.pools import WEIGHT_SCALE

BPS = 10_000
DEFAULT_TRAINING_WEIGHT_BPS = BPS


def training_share_ppm(
    context_gain: float | None, training_gain: float | None, weight_bps: int
) -> int:
    """The training side's share of the contributors' pool; None gains count as 0."""
    if weight_bps < 0:
        raise ValueError("the training weight is a non-negative number of basis points")
    gt = max(training_gain or 0.0, 0.0) * weight_bps
    gc = max(context_gain or 0.0, 0.0) * BPS
    if gt + gc <= 0:
        return 0
    return round(WEIGHT_SCALE * gt / (gt + gc))

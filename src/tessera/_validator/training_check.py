"""The training-attribution re-check: an adapter answer's training side, redone from the
adapter's own published texts.

The texts come from the adapter's folder (fetched by CID, hash-checked against the weights
digest the chain records), their owners are traced through its provenance to the chain, and
the receipt's method is rebuilt from its name and run as the engine runs it (its probe on the
base model alone). Then, each a fault when it does not hold:

- every training source is one of the adapter's learned contributions, credited to the
  contributor and datanet its signed registration names;
- each contribution's weight is the recomputed one, within the context check's tolerances;
- the training weight is the one governance had in force when the receipt was signed;
- the pool share is what both measured gains give under that weight, within
  TRAINING_SHARE_TOLERANCE_PPM (or a share gains within EFFECT_TOLERANCE could give).

A receipt with no training side, for an adapter whose texts this validator can read, is
reported as inconclusive (an honest node that could not reach the chain to trace them
answers so), never challenged: its contributors' pool went to the context, not to the node.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

from tessera._attribution.pool_share import training_share_ppm
from tessera._attribution.training import LearnedIndex, TrainingSpans
from tessera._crypto.receipt import Receipt
from tessera._node.learned import Owner
from tessera._validator.attribution_check import check_weights
from tessera._validator.finding import Finding
from tessera._validator.tolerances import EFFECT_TOLERANCE, TRAINING_SHARE_TOLERANCE_PPM


def training_method_named(name: str, index: LearnedIndex) -> TrainingSpans | None:
    """The training method a receipt names, over `index`; None unless rebuilt exactly."""
    match = re.fullmatch(r"training-spans\(min_share=([^,()]+), version=2\)", name)
    if match is None:
        return None
    try:
        method = TrainingSpans(index, float(ast.literal_eval(match[1])))
    except (ValueError, SyntaxError, TypeError):
        return None
    return method if method.name == name else None


def check_owners(
    receipt: Receipt, learned: Sequence[str], owners: Mapping[str, Owner]
) -> list[Finding]:
    """Training sources are the adapter's learned contributions, paid to their owners."""
    strays = sorted({s.cid for s in receipt.training} - set(learned))
    if strays:
        detail = f"the receipt credits {strays[:3]} as training data its adapter never learned"
        return [Finding("attribution", detail)]
    for s in receipt.training:
        owner = owners[s.cid]
        if s.contributor.lower() != owner.contributor.lower() or s.datanet != owner.datanet:
            detail = (
                f"training contribution {s.cid} is credited to {s.contributor} in datanet "
                f"#{s.datanet}; the chain registers it to {owner.contributor} in "
                f"#{owner.datanet}"
            )
            return [Finding("attribution", detail)]
    return []


def check_training_weights(
    receipt: Receipt, learned: Sequence[str], method: TrainingSpans, effects: Sequence[float]
) -> list[Finding]:
    found = check_weights(learned, receipt.training, method, effects)
    return [Finding(f.kind, "training: " + f.detail, f.inconclusive) for f in found]


def check_share(
    receipt: Receipt, weight_in_force: int, context_gain: float | None, training_gain: float | None
) -> list[Finding]:
    """The governed weight, and the share both gains give under it."""
    if receipt.training_weight_bps != weight_in_force:
        detail = (
            f"the receipt divides its pool by a training weight of "
            f"{receipt.training_weight_bps} bps; governance had {weight_in_force} in force"
        )
        return [Finding("attribution", detail)]
    got = receipt.training_share_ppm
    if not receipt.training:
        return []  # check_pools refuses a share without training sources
    weight = receipt.training_weight_bps
    want = training_share_ppm(context_gain, training_gain, weight)
    if abs(got - want) <= TRAINING_SHARE_TOLERANCE_PPM:
        return []
    gc, gt = max(context_gain or 0.0, 0.0), max(training_gain or 0.0, 0.0)
    e = EFFECT_TOLERANCE
    ends = [
        training_share_ppm(gc + e, max(gt - e, 0.0), weight),
        training_share_ppm(max(gc - e, 0.0), gt + e, weight),
    ]
    low, high = min(ends), max(ends)
    if low - TRAINING_SHARE_TOLERANCE_PPM <= got <= high + TRAINING_SHARE_TOLERANCE_PPM:
        detail = f"the training share {got} ppm is off the recomputed {want}, within rounding"
        return [Finding("attribution", detail, inconclusive=True)]
    detail = (
        f"the receipt gives training data {got} ppm of the contributors' pool where the "
        f"measured gains (context {gc:.4f}, adapter {gt:.4f} nats) give {want} (gains within "
        f"{e} nats could give {low} to {high}; tolerance {TRAINING_SHARE_TOLERANCE_PPM} ppm)"
    )
    return [Finding("attribution", detail)]

"""One receipt, two attributions, one payable list: how the contributors' pool is divided.

An adapter's answer owes something to the documents in its prompt (context attribution) and
something to the documents the adapter was trained on (training attribution). The receipt
carries both, each in parts per million summing to 1,000,000, and the share of the pool that
goes to training (`training_share_ppm`, measured per answer by the governed rule in
`tessera._attribution.pool_share`). Settlement and the payout prover split one list of
sources, so the two are merged here, deterministically, into the list the receipt's
attribution hash commits to:

    context source i:  floor(w_i * (1e6 - T) / 1e6)
    training source j: floor(w_j * T / 1e6), paid to `withheld_to` if governance blocked it
    the rounding remainder: to the entry of the highest merged weight (the first on a tie)

entries of weight 0 are dropped. T is forced to 1e6 when there is no context source, and to 0
when there is no training source, so a pool is never divided towards nobody. Anyone can redo
the merge from the receipt, so a node that moves credit between the kinds is caught by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

WEIGHT_SCALE = 1_000_000  # attribution weights are integers in parts per million, summing exactly
CONTEXT, TRAINING = "context", "training"


@dataclass(frozen=True)
class AttributedSource:
    cid: str
    contributor: str
    datanet: int
    weight_ppm: int


@dataclass(frozen=True)
class Payable:
    """A merged entry: the source as the chain pays it, and which attribution it came from."""

    source: AttributedSource
    kind: str  # CONTEXT or TRAINING
    withheld: bool = False  # a blocked training contribution: its share goes to withheld_to


def effective_training_share(
    context: Sequence[AttributedSource], training: Sequence[AttributedSource], share_ppm: int
) -> int:
    """The training share actually applied: all of it with no context source, none with no
    training source."""
    if not training:
        return 0
    if not context:
        return WEIGHT_SCALE
    return share_ppm


def merge_pools(
    context: Sequence[AttributedSource],
    training: Sequence[AttributedSource],
    share_ppm: int,
    withheld: frozenset[str] = frozenset(),
    withheld_to: str = "",
) -> list[Payable]:
    """The payable list: both attributions scaled into one that sums to WEIGHT_SCALE (or is
    empty when neither credits anyone). Without a training side it is the context attribution
    exactly as signed, malformed weights included: the payout prover must see what a node
    signed to judge it (`check_pools` and `Receipt.verify` refuse what no honest node signs)."""
    if not training:
        return [Payable(s, CONTEXT) for s in context]
    t = effective_training_share(context, training, share_ppm)
    scaled = [
        Payable(_weighted(s, s.weight_ppm * (WEIGHT_SCALE - t) // WEIGHT_SCALE), CONTEXT)
        for s in context
    ]
    for s in training:
        blocked = s.cid in withheld
        source = _weighted(s, s.weight_ppm * t // WEIGHT_SCALE)
        if blocked:
            source = replace(source, contributor=withheld_to)
        scaled.append(Payable(source, TRAINING, blocked))
    kept = [p for p in scaled if p.source.weight_ppm > 0]
    if not kept:
        return []
    top = max(range(len(kept)), key=lambda i: (kept[i].source.weight_ppm, -i))
    short = WEIGHT_SCALE - sum(p.source.weight_ppm for p in kept)
    if short < 0:  # weights no honest node signs: left as they are, never made to look whole
        return kept
    winner = kept[top]
    kept[top] = replace(winner, source=_weighted(winner.source, winner.source.weight_ppm + short))
    return kept


def check_pools(
    training: Sequence[AttributedSource], share_ppm: int, withheld: Sequence[str], withheld_to: str
) -> list[str]:
    """What is wrong with a receipt's training side, as a node must never sign it."""
    problems = []
    if training:
        total = sum(s.weight_ppm for s in training)
        if total != WEIGHT_SCALE:
            problems.append(f"training weights sum to {total} ppm, not {WEIGHT_SCALE}")
        if any(s.weight_ppm <= 0 for s in training):
            problems.append("a receipt lists only training sources with a positive weight")
    if not 0 <= share_ppm <= WEIGHT_SCALE:
        problems.append(f"the training share {share_ppm} ppm is outside 0..{WEIGHT_SCALE}")
    if share_ppm and not training:
        problems.append("a training share is claimed for an answer with no training source")
    trained = {s.cid for s in training}
    if not set(withheld) <= trained:
        problems.append("a withheld contribution is not among the training sources")
    if withheld and not _is_address(withheld_to):
        problems.append("withheld shares must name the recipient they go to")
    return problems


def _weighted(source: AttributedSource, weight_ppm: int) -> AttributedSource:
    return replace(source, weight_ppm=weight_ppm)


def _is_address(text: str) -> bool:
    body = text.removeprefix("0x")
    return text.startswith("0x") and len(body) == 40 and all(c in _HEX for c in body)


_HEX = frozenset("0123456789abcdefABCDEF")

"""The attribution re-check: the receipt's method, rebuilt from its name, run again the way the
engine runs it, and its weights compared with the receipt's, document by document.

The engine scores a method's probes against the prompt's cached keys and values (a hidden
document stays in the cache of the documents after it), so the re-check does the same with the
engine's own packed pass over the teacher-forced pass's cache of the prompt, not the
from-scratch reference that re-reads the documents. A weight that
differs from the recomputed one by more than WEIGHT_TOLERANCE_PPM is a fault only if no effects
within EFFECT_TOLERANCE of the recomputed ones give it: a document near the method's threshold,
or an answer that owed the documents almost nothing, has weights that rounding alone moves far,
and those are inconclusive.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch

from tessera._attribution.base import Answered, Attributor
from tessera._attribution.contextcite import ContextCite
from tessera._attribution.masked_ablation import MaskedAblation
from tessera._attribution.weights import to_ppm
from tessera._crypto.receipt import AttributedSource
from tessera._inference.engine import probe_stream
from tessera._inference.packed import PackedModel
from tessera._inference.prompt import Prompt
from tessera._validator.answer_check import ForcedPass
from tessera._validator.finding import Finding
from tessera._validator.tolerances import EFFECT_TOLERANCE, WEIGHT_TOLERANCE_PPM

# a method's name as receipts carry it (Attributor.name) -> the method, from its parameters
METHODS: dict[str, Callable[[dict[str, Any]], Attributor]] = {
    "masked-ablation": lambda p: MaskedAblation(float(p["min_effect"]), bool(p["cap"])),
    "context-cite": lambda p: ContextCite(int(p["n"]), float(p["p"]), float(p["alpha"])),
}


def attributor_named(name: str) -> Attributor | None:
    """The method a receipt names, rebuilt; None unless rebuilding gives exactly that name."""
    match = re.fullmatch(r"([a-z-]+)\((.*)\)", name)
    if match is None or match[1] not in METHODS:
        return None
    try:
        pairs = [item.split("=", 1) for item in match[2].split(",")]
        method = METHODS[match[1]]({k: ast.literal_eval(v) for k, v in pairs})
    except (ValueError, KeyError, SyntaxError, TypeError):
        return None
    return method if method.name == name else None


@torch.inference_mode()
def engine_effects(
    packed: PackedModel,
    method: Attributor,
    prompt: Prompt,
    forced: ForcedPass,
    answer: Sequence[int],
    adapter: int | None = None,
) -> list[float]:
    """The effects the engine measures: the method's probes in one packed pass over the
    prompt's cached columns, and the answer's log-probabilities with every document.
    `adapter`: the bank slot of the adapter that answered (its probes run on it too)."""
    if not (prompt.doc_spans and answer):  # the engine attributes nothing: no weight
        return [0.0] * len(prompt.doc_spans)
    answered = Answered(
        prompt.ids, prompt.prefix_len, prompt.doc_spans, answer, forced.logprobs(answer)
    )
    return engine_measure(packed, method, answered, forced, adapter)[0]


@torch.inference_mode()
def engine_measure(
    packed: PackedModel,
    method: Attributor,
    answered: Answered,
    forced: ForcedPass,
    adapter: int | None = None,
) -> tuple[list[float], float | None]:
    """`method`'s effects on `answered` and its gain (Attributor.gain), its probes run as the
    engine runs them: on the answer's adapter, or on the base alone where a probe says so."""
    probes = method.probes(answered)
    scored: list[list[float]] = []
    if probes:
        store = replace(forced.prompt_columns)  # the pass rebuilds the store it is given
        streams = [probe_stream(0, p, adapter if p.adapted else None) for p in probes]
        scored = [lp for _, lp in packed.step(store, streams)]
    gain = method.gain(answered, scored) if probes else None
    return method.effects(answered, scored), gain


def check_weights(
    context: Sequence[str],
    claimed: Sequence[AttributedSource],
    method: Attributor,
    effects: Sequence[float],
) -> list[Finding]:
    """Each context document's claimed weight against the one `effects` give."""
    recomputed = to_ppm(method.weights(effects))
    unsure = []
    for cid, (got, want) in weights_by_document(context, claimed, recomputed).items():
        mine = [i for i, c in enumerate(context) if c == cid]
        if abs(got - want) <= WEIGHT_TOLERANCE_PPM:
            continue
        low, high = _reachable(method, effects, mine)
        if not low - WEIGHT_TOLERANCE_PPM <= got <= high + WEIGHT_TOLERANCE_PPM:
            return [
                Finding(
                    "attribution",
                    f"document {cid} is credited {got} ppm where {method.name} gives {want} "
                    f"(rounding could give {low} to {high}; tolerance "
                    f"{WEIGHT_TOLERANCE_PPM} ppm)",
                )
            ]
        unsure.append(cid)
    if unsure:
        detail = (
            f"the weights of {len(unsure)} document(s) differ by more than "
            f"{WEIGHT_TOLERANCE_PPM} ppm, but effects within {EFFECT_TOLERANCE} nats give them"
        )
        return [Finding("attribution", detail, inconclusive=True)]
    return []


def weights_by_document(
    context: Sequence[str], claimed: Sequence[AttributedSource], recomputed: Sequence[int]
) -> dict[str, tuple[int, int]]:
    """Each context document (in order, once): (ppm the receipt credits it, ppm recomputed),
    summed over every place it sits in the prompt."""
    claims: dict[str, int] = {}
    for source in claimed:
        claims[source.cid] = claims.get(source.cid, 0) + source.weight_ppm
    wants: dict[str, int] = {}
    for cid, weight in zip(context, recomputed, strict=True):
        wants[cid] = wants.get(cid, 0) + weight
    return {cid: (claims.get(cid, 0), want) for cid, want in wants.items()}


def _reachable(method: Attributor, effects: Sequence[float], mine: list[int]) -> tuple[int, int]:
    """The least and the most weight (ppm) documents `mine` get when every effect moves by at
    most EFFECT_TOLERANCE: theirs down and the others' up, then the other way round."""
    low = [
        e - EFFECT_TOLERANCE if i in mine else e + EFFECT_TOLERANCE for i, e in enumerate(effects)
    ]
    high = [
        e + EFFECT_TOLERANCE if i in mine else e - EFFECT_TOLERANCE for i, e in enumerate(effects)
    ]
    a = sum(to_ppm(method.weights(low))[i] for i in mine)
    b = sum(to_ppm(method.weights(high))[i] for i in mine)
    return min(a, b), max(a, b)

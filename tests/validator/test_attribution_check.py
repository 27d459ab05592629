"""The attribution re-check rebuilds the receipt's method from its name and catches weight moved
from the true source to another contributor; a weight that rounding could explain (near the
method's threshold) is inconclusive, never a fault."""

from __future__ import annotations

from dataclasses import replace

import pytest
from served_node import MIN_EFFECT, first_fault

from tessera._attribution.contextcite import ContextCite
from tessera._attribution.masked_ablation import MaskedAblation
from tessera._crypto.receipt import AttributedSource
from tessera._store.cid import cid_for
from tessera._validator.attribution_check import attributor_named, check_weights
from tessera._validator.finding import proven
from tessera._validator.tolerances import EFFECT_TOLERANCE, WEIGHT_TOLERANCE_PPM


def _moved(served, receipt, amount):
    """`amount` ppm of the top source's weight moved to another document of the prompt, one
    of another contributor where the prompt holds one."""
    top, *rest = receipt.attribution
    owners = {h.cid: h for h in served.rechecker.world.retrieve("", receipt.datanets, 10)}
    others = [c for c in receipt.context if c != top.cid]
    to = next((c for c in others if owners[c].contributor != top.contributor), others[0])
    credited = {s.cid: s for s in receipt.attribution}
    hit = owners[to]
    receiver = credited.get(to, AttributedSource(to, hit.contributor, hit.datanet, 0))
    moved = [replace(top, weight_ppm=top.weight_ppm - amount)]
    moved += [s for s in rest if s.cid != to]
    moved.append(replace(receiver, weight_ppm=receiver.weight_ppm + amount))
    return served.forge(receipt, attribution=tuple(moved))


def test_weight_moved_from_the_true_source_to_another_contributor_is_a_fault(served, honest):
    lie = _moved(served, honest.receipt, 200_000)
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "attribution" and "masked-ablation" in fault.detail


def test_weight_moved_within_the_tolerance_passes(served, honest):
    nudged = _moved(served, honest.receipt, WEIGHT_TOLERANCE_PPM // 2)
    assert served.rechecker.recheck(nudged) == []


def test_an_unknown_method_cannot_be_recomputed_and_is_inconclusive(served, honest):
    findings = served.rechecker.recheck(served.forge(honest.receipt, method="oracle(x=1)"))
    assert [f.kind for f in findings] == ["attribution"] and not proven(findings)
    assert "unknown attribution method 'oracle(x=1)'" in findings[0].detail


@pytest.mark.parametrize(
    "method",
    [
        MaskedAblation(),
        MaskedAblation(MIN_EFFECT),
        MaskedAblation(1e-6, False),
        ContextCite(),
        ContextCite(16, 0.25, 0.1),
    ],
    ids=lambda m: m.name,
)
def test_a_method_is_rebuilt_from_the_name_a_receipt_carries(method):
    rebuilt = attributor_named(method.name)
    assert type(rebuilt) is type(method) and rebuilt.name == method.name


@pytest.mark.parametrize(
    "name",
    [
        "masked-ablation(min_effect=1.0,cap=True) ",
        "masked-ablation(min_effect=1,cap=True)",  # not how the method writes itself
        "masked-ablation(min_effect=abc,cap=True)",
        "masked-ablation(min_effect=1.0)",
        "masked-ablation",
        "leave-one-out(k=1)",
        "",
    ],
)
def test_a_name_no_known_method_writes_is_not_rebuilt(name):
    assert attributor_named(name) is None


# weights near the threshold, on hand-made effects ----------------------------------------

CONTEXT = [cid_for(bytes([i])) for i in range(3)]
WHO = "0x" + "11" * 20
METHOD = MaskedAblation(1.0)


def credits(*ppm: int) -> list[AttributedSource]:
    return [AttributedSource(c, WHO, 1, w) for c, w in zip(CONTEXT, ppm, strict=True) if w]


def shares(effects: list[float]) -> list[int]:
    """Proportional ppm of the effects that reach 1 nat (two of them here: rounding sums)."""
    total = sum(e for e in effects if e >= 1.0)
    return [round(e / total * 1_000_000) if e >= 1.0 else 0 for e in effects]


def test_weights_as_the_method_gives_them_pass():
    effects = [3.0, 1.0 + 2 * EFFECT_TOLERANCE, 0.2]  # 3 : 1, the last below the threshold
    assert check_weights(CONTEXT, credits(*shares(effects)), METHOD, effects) == []


def test_a_document_near_the_threshold_credited_or_not_is_inconclusive():
    near = [3.0, 1.0 + EFFECT_TOLERANCE / 2, 0.2]  # the node may have measured it below 1.0
    findings = check_weights(CONTEXT, credits(1_000_000, 0, 0), METHOD, near)
    assert len(findings) == 1 and findings[0].inconclusive and findings[0].kind == "attribution"
    assert check_weights(CONTEXT, credits(*shares(near)), METHOD, near) == []


def test_a_document_clear_of_the_threshold_left_out_is_a_fault():
    clear = [3.0, 1.0 + 10 * EFFECT_TOLERANCE, 0.2]
    fault = first_fault(check_weights(CONTEXT, credits(1_000_000, 0, 0), METHOD, clear))
    assert fault.detail.startswith(f"document {CONTEXT[0]} is credited 1000000 ppm")


def test_a_document_below_the_threshold_credited_is_a_fault():
    effects = [3.0, 0.5, 0.2]
    fault = first_fault(check_weights(CONTEXT, credits(800_000, 200_000, 0), METHOD, effects))
    assert "credited 800000 ppm where" in fault.detail

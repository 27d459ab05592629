"""The node pays by its engine's attribution method, and the operator's `min_effect` is that
method's threshold: the same question, the same effects, different weights."""

from __future__ import annotations

from node_helpers import build_test_node

from tessera._attribution.masked_ablation import MaskedAblation
from tessera._node.service import Question

QUESTION = "Who founded the Ulora Brewery?"


def _ask(node):
    request = {"messages": [{"role": "user", "content": QUESTION}]}
    return node.service.answer(Question(QUESTION, request, max_tokens=8, stop=("\n",)))


def test_min_effect_is_the_attribution_methods_threshold(tmp_path, wide_generator, tiny_embedder):
    # the tiny model's effects are small: a low threshold lets them count
    low = 1e-6
    _, lenient = build_test_node(tmp_path / "a", wide_generator, tiny_embedder, min_effect=low)
    try:
        method = lenient.service.engine.attributor
        assert isinstance(method, MaskedAblation) and method.min_effect == low
        paid = _ask(lenient)
    finally:
        lenient.close()
    effects = [s.effect for s in paid.sources]
    assert [s.weight for s in paid.sources] == method.weights(effects)
    assert any(s.weight > 0 for s in paid.sources)

    # a threshold above every measured effect: the same answer pays no document
    above = max(effects) + 1.0
    _, strict = build_test_node(tmp_path / "b", wide_generator, tiny_embedder, min_effect=above)
    try:
        assert strict.service.engine.attributor.min_effect == above
        unpaid = _ask(strict)
    finally:
        strict.close()
    assert unpaid.text == paid.text
    assert {s.cid: s.effect for s in unpaid.sources} == {s.cid: s.effect for s in paid.sources}
    assert all(s.weight == 0 and s.weight_ppm == 0 for s in unpaid.sources)
    assert unpaid.receipt is not None and not unpaid.receipt.attribution

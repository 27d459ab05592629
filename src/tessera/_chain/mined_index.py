"""A speed-up for long runs on the in-process chain: eth-tester finds a transaction by scanning
every block back from the head, and reading logs asks that of every transaction in range, so a
run with many nodes, epochs and challenges spends seconds on each log read. A mined transaction
never moves unless the chain reverts to a snapshot, so while this is on, each mined one is looked
up once. Only for runs that never revert (a benchmark, one court of tests); never in a node."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def indexed_transactions() -> Iterator[None]:
    from eth_tester.backends.pyevm import main as pyevm

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
    try:
        yield
    finally:
        pyevm._get_transaction_by_hash = scan

"""One thread owns the home: every facade call runs on it, in turn.

The home's index is a SQLite connection, bound to the thread that opened it, and the facade
is not written for concurrent callers; pages are short reads, so one at a time is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import tessera

T = TypeVar("T")


class HomeWorker:
    def __init__(self, opener: Callable[[], tessera.Tessera], owned: bool = True) -> None:
        self.owned = owned  # False: the caller opened the home and closes it
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tessera-web")
        self.tessera = self._pool.submit(opener).result()
        # index the chain's logs before the first page asks: requests queue behind it
        self._indexing = self._pool.submit(self.tessera.catch_up)

    async def call(self, fn: Callable[[tessera.Tessera], T]) -> T:
        return await asyncio.wrap_future(self._pool.submit(fn, self.tessera))

    def close(self) -> None:
        if self.owned:
            self._pool.submit(self.tessera.close).result()
        self._pool.shutdown()

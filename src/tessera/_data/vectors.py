"""A persistent embedded vector index of contributions, for retrieval.

Vectors live in SQLite (one row per datanet and CID, float32 bytes) and in a numpy matrix in
memory; search is exact cosine similarity, which is fast enough for the embedded default
(hundreds of thousands of chunks) and keeps results deterministic.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Embed = Callable[[list[str]], np.ndarray]  # texts -> (n, dim) float32, L2-normalised

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    datanet INTEGER NOT NULL, cid TEXT NOT NULL, contributor TEXT NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (datanet, cid)
);
"""


@dataclass(frozen=True)
class Hit:
    datanet: int
    cid: str
    contributor: str
    score: float


class VectorIndex:
    def __init__(self, path: Path, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        rows = self.db.execute(
            "SELECT datanet, cid, contributor, vector FROM vectors ORDER BY rowid"
        ).fetchall()
        self._keys: list[tuple[int, str, str]] = [(r[0], r[1], r[2]) for r in rows]
        self._matrix = (
            np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, dim), dtype=np.float32)
        )  # (n, dim)
        self._known = {(d, c) for d, c, _ in self._keys}

    def __len__(self) -> int:
        return len(self._keys)

    def has(self, datanet: int, cid: str) -> bool:
        return (datanet, cid) in self._known

    def add(self, items: Sequence[tuple[int, str, str]], vectors: np.ndarray) -> None:
        """Add (datanet, cid, contributor) rows and their (n, dim) vectors, skipping known ones."""
        fresh = [(i, key) for i, key in enumerate(items) if (key[0], key[1]) not in self._known]
        if not fresh:
            return
        rows = np.asarray(vectors, dtype=np.float32)[[i for i, _ in fresh]]  # (m, dim)
        with self._lock, self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO vectors VALUES (?,?,?,?)",
                [
                    (d, c, who, row.tobytes())
                    for (_, (d, c, who)), row in zip(fresh, rows, strict=True)
                ],
            )
            self._keys.extend(key for _, key in fresh)
            self._known.update((d, c) for _, (d, c, _) in fresh)
            self._matrix = np.concatenate([self._matrix, rows])

    def search(
        self,
        query: np.ndarray,
        k: int,
        datanets: Sequence[int] | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Hit]:
        """Top-k by cosine similarity among `datanets` (all if None), skipping `exclude` CIDs."""
        with self._lock:
            keys, matrix = self._keys, self._matrix
        if not keys:
            return []
        scores = matrix @ np.asarray(query, dtype=np.float32).reshape(-1)  # (n,)
        allowed = set(datanets) if datanets is not None else None
        hits: list[Hit] = []
        for i in np.argsort(-scores, kind="stable"):
            datanet, cid, who = keys[i]
            if (allowed is None or datanet in allowed) and cid not in exclude:
                hits.append(Hit(datanet, cid, who, float(scores[i])))
                if len(hits) == k:
                    break
        return hits

    def close(self) -> None:
        self.db.close()

"""A local SQLite index of the registry's batches and their contributions.

It is a cache of chain state plus manifests, never a source of truth: it can be deleted and
rebuilt by `sync`, and every answer it gives can be proved against the chain.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from tessera._chain.registry import RegistryClient
from tessera._crypto.eip712 import Domain
from tessera._data.manifest import BatchManifest
from tessera._errors import InputError, StoreError
from tessera._store.base import BlobStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, datanet INTEGER NOT NULL, root BLOB NOT NULL,
    leaf_count INTEGER NOT NULL, contributor_count INTEGER NOT NULL, content_uri TEXT NOT NULL,
    submitter TEXT NOT NULL, block_number INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    manifest_ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS contributions (
    datanet INTEGER NOT NULL, cid TEXT NOT NULL, batch INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL, contributor TEXT NOT NULL, signature BLOB NOT NULL,
    signature_ok INTEGER NOT NULL, PRIMARY KEY (datanet, cid)
);
CREATE INDEX IF NOT EXISTS contributions_by_cid ON contributions(cid);
CREATE INDEX IF NOT EXISTS batches_by_datanet ON batches(datanet);
CREATE INDEX IF NOT EXISTS contributions_by_contributor
    ON contributions(contributor COLLATE NOCASE, batch, leaf_index);
"""


@dataclass(frozen=True)
class IndexedContribution:
    datanet: int
    cid: str
    batch: int
    leaf_index: int
    contributor: str
    signature: bytes
    signature_ok: bool


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    @functools.wraps(method)
    def run(self: ContributionIndex, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, run)


class ContributionIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # one connection shared by the threads of a process (the web app's, a node's), each
        # use under the lock: SQLite's own thread check would refuse all but the opener
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    @_locked
    def close(self) -> None:
        self.db.close()

    @_locked
    def sync(self, registry: RegistryClient, store: BlobStore) -> int:
        """Index batches registered since the last sync (and retry manifests missing before)."""
        known = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM batches").fetchone()[0]
        missing = [r[0] for r in self.db.execute("SELECT id FROM batches WHERE manifest_ok = 0")]
        new = range(known + 1, registry.batch_count() + 1)
        for batch_id in [*missing, *new]:
            self._index_batch(registry, store, batch_id)
        return len(new)

    def _index_batch(self, registry: RegistryClient, store: BlobStore, batch_id: int) -> None:
        record = registry.batch(batch_id)
        domain = Domain(registry.chain.chain_id, registry.address)
        manifest = _load_manifest(store, record.content_uri)
        ok = (
            manifest is not None
            and manifest.tree.root == record.root
            and manifest.datanet == record.datanet
        )
        with self.db:  # one transaction per batch: indexed whole or not at all
            self.db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    batch_id,
                    record.datanet,
                    record.root,
                    record.leaf_count,
                    record.contributor_count,
                    record.content_uri,
                    record.submitter,
                    record.block_number,
                    record.timestamp,
                    int(ok),
                ),
            )
            if ok and manifest is not None:
                self.db.executemany(
                    "INSERT OR IGNORE INTO contributions VALUES (?,?,?,?,?,?,?)",
                    [
                        (
                            record.datanet,
                            leaf.cid,
                            batch_id,
                            i,
                            leaf.contributor,
                            leaf.signature,
                            int(ok_sig),
                        )
                        for i, (leaf, ok_sig) in enumerate(
                            zip(manifest.leaves, manifest.signatures_valid(domain), strict=True)
                        )
                    ],
                )

    @_locked
    def known_cids(self, datanet: int) -> set[str]:
        """CIDs the datanet holds with a valid signature (a forged leaf does not count)."""
        rows = self.db.execute(
            "SELECT cid FROM contributions WHERE datanet = ? AND signature_ok = 1", (datanet,)
        )
        return {row[0] for row in rows}

    @_locked
    def find(self, cid: str) -> list[IndexedContribution]:
        rows = self.db.execute(
            "SELECT datanet, cid, batch, leaf_index, contributor, signature, signature_ok "
            "FROM contributions "
            "WHERE cid = ? ORDER BY batch",
            (cid,),
        )
        return [IndexedContribution(*row) for row in rows]

    @_locked
    def contributions(self, datanet: int) -> list[IndexedContribution]:
        rows = self.db.execute(
            "SELECT datanet, cid, batch, leaf_index, contributor, signature, signature_ok "
            "FROM contributions "
            "WHERE datanet = ? ORDER BY batch, leaf_index",
            (datanet,),
        )
        return [IndexedContribution(*row) for row in rows]

    @_locked
    def count_by(self, contributor: str) -> int:
        """How many validly signed contributions `contributor` made, in every datanet."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM contributions "
            "WHERE contributor = ? COLLATE NOCASE AND signature_ok = 1",
            (contributor,),
        ).fetchone()
        return int(row[0])

    @_locked
    def by_contributor(
        self, contributor: str, offset: int, limit: int
    ) -> list[IndexedContribution]:
        """`limit` of the contributor's validly signed contributions from `offset`, newest
        first: an account's page reads one page, not every datanet."""
        rows = self.db.execute(
            "SELECT datanet, cid, batch, leaf_index, contributor, signature, signature_ok "
            "FROM contributions WHERE contributor = ? COLLATE NOCASE AND signature_ok = 1 "
            "ORDER BY batch DESC, leaf_index DESC LIMIT ? OFFSET ?",
            (contributor, limit, offset),
        )
        return [IndexedContribution(*row) for row in rows]

    @_locked
    def batch_ids(self, datanet: int) -> list[int]:
        rows = self.db.execute("SELECT id FROM batches WHERE datanet = ? ORDER BY id", (datanet,))
        return [row[0] for row in rows]

    @_locked
    def batch_roots(self, datanet: int) -> list[bytes]:
        """Merkle roots of the datanet's indexed batches, in registration order."""
        rows = self.db.execute("SELECT root FROM batches WHERE datanet = ? ORDER BY id", (datanet,))
        return [bytes(row[0]) for row in rows]

    @_locked
    def manifests(self, datanet: int) -> list[tuple[int, str]]:
        """(batch id, manifest CID) of the datanet's batches whose manifest checked out."""
        rows = self.db.execute(
            "SELECT id, content_uri FROM batches WHERE datanet = ? AND manifest_ok = 1 ORDER BY id",
            (datanet,),
        )
        return [(row[0], row[1]) for row in rows]

    @_locked
    def unavailable_batches(self, datanet: int) -> list[int]:
        rows = self.db.execute(
            "SELECT id FROM batches WHERE datanet = ? AND manifest_ok = 0 ORDER BY id", (datanet,)
        )
        return [row[0] for row in rows]


def _load_manifest(store: BlobStore, cid: str) -> BatchManifest | None:
    try:
        return BatchManifest.from_bytes(store.get(cid))
    except (StoreError, InputError):  # missing, corrupted, or not a manifest at all
        return None

"""Follow the registry: index new batches as they land and embed only what is new.

The follower is the only part of a running node that talks to the chain; request handlers
read what it has published (the vector index and the datanet snapshots).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from tessera._chain.registry import RegistryClient
from tessera._data.datanets import snapshot_root
from tessera._data.index import ContributionIndex, IndexedContribution
from tessera._data.manifest import BatchManifest
from tessera._data.vectors import Embed, VectorIndex
from tessera._errors import StoreError, TesseraError
from tessera._node.replication import BundleKeeper
from tessera._store.base import BlobStore
from tessera._store.fetching import FetchingBlobStore

log = logging.getLogger("tessera._node")
EMBED_BATCH = 64


@dataclass(frozen=True)
class Snapshot:
    """A datanet as the node last indexed it: the root over its batch roots, in order."""

    datanet: int
    name: str
    root: str
    batches: int
    contributions: int


class Follower:
    def __init__(
        self,
        registry: RegistryClient,
        store: BlobStore,
        index_path: Path,
        vectors: VectorIndex,
        embed: Embed,
        datanet_names: tuple[str, ...],
        bundles: BundleKeeper | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.index_path = index_path
        self.vectors = vectors
        self.embed = embed
        self.datanet_names = datanet_names
        self.bundles = bundles
        self.missing: dict[int, int] = {}  # datanet -> contributions whose content is not here
        self.snapshots: dict[int, Snapshot] = {}
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def served_ids(self) -> list[int]:
        return sorted(self.snapshots)

    def sync_once(self) -> int:
        """Index new batches, embed new contributions; returns how many were embedded."""
        index = ContributionIndex(self.index_path)
        try:
            index.sync(self.registry, self.store)
            names = self.datanet_names or tuple(
                self.registry.datanet(i).name for i in range(1, self.registry.datanet_count() + 1)
            )
            embedded = 0
            snapshots = {}
            for name in names:
                datanet_id = self.registry.datanet_id(name)
                if datanet_id == 0:
                    raise TesseraError(f"the node serves datanet {name!r}, which does not exist")
                items = [c for c in index.contributions(datanet_id) if c.signature_ok]
                self._fetch_missing(index, datanet_id, items)
                embedded += self._embed_new(datanet_id, items)
                roots = index.batch_roots(datanet_id)
                snapshots[datanet_id] = Snapshot(
                    datanet_id, name, snapshot_root(roots), len(roots), len(items)
                )
            self.snapshots = snapshots
            if self.bundles is not None:
                self.bundles.sync()
            self.error = None
            return embedded
        finally:
            index.close()

    def _fetch_missing(
        self, index: ContributionIndex, datanet: int, items: list[IndexedContribution]
    ) -> None:
        """Fetch what this node never ingested from its peers: one CAR per batch (the batch's
        collection DAG), every block checked against its CID before it is stored."""
        if not isinstance(self.store, FetchingBlobStore):
            return
        lacking = {c.batch for c in items if not self.store.has(c.cid)}
        for batch, manifest_cid in index.manifests(datanet):
            if batch in lacking:
                try:
                    manifest = BatchManifest.from_bytes(self.store.get(manifest_cid))
                    self.store.fetch_collection([leaf.cid for leaf in manifest.leaves])
                except StoreError as exc:  # no peer has (all of) it now: retried next sync
                    log.warning("batch %d: content not fetched yet: %s", batch, exc)

    def _embed_new(self, datanet: int, items: list) -> int:
        """Embed what is new and held here; what no peer could give (blocked by governance,
        or not served by anyone now) is counted in `missing` and retried next sync."""
        held = self.store.local_blocks()
        new = [c for c in items if not self.vectors.has(datanet, c.cid)]
        todo = [c for c in new if held.has(c.cid)]
        self.missing[datanet] = len(new) - len(todo)
        for start in range(0, len(todo), EMBED_BATCH):
            chunk = todo[start : start + EMBED_BATCH]
            texts = [self.store.get(c.cid).decode("utf-8") for c in chunk]
            self.vectors.add([(datanet, c.cid, c.contributor) for c in chunk], self.embed(texts))
        return len(todo)

    def start(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sync_once()
                except Exception as exc:  # keep serving what we have; report on /health
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.warning("follower: %s", self.error)

        self._thread = threading.Thread(target=loop, name="tessera-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

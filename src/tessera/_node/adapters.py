"""Adapters on a node: fetched by CID on first use, hash-checked, read, and answered with from
the engine's bank of resident slots (least recently used out first).

    served = ServedAdapters(catalog, AdapterFolders(store, home / "models"), bank, 1024)
    future = served.submit(engine, job, version)  # fetches and loads it the first time

A folder is fetched into the home once (`fetch_model`: every block checked against its CID,
the whole against the version's weights digest, renamed into place only then), so nothing is
half-loaded: a folder that fails a check is never read, and no slot is written for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from tessera._errors import AdapterBusy, ModelError, NodeError, StoreError
from tessera._inference.engine import Completion, Engine, Job
from tessera._inference.lora import AdapterBank, bank_of, slot_bytes
from tessera._models.adapter import LoraAdapter, check_adapter_files, read_adapter
from tessera._models.publication import fetch_model, read_manifest
from tessera._node.catalog import AdapterCatalog, AdapterVersion
from tessera._node.learned import LearnedAdapters
from tessera._store.base import BlobStore

MIB = 1 << 20


def bank_for(model: Any, budget_mib: int, rank: int) -> AdapterBank:
    """A bank over `model` with as many slots of `rank` as `budget_mib` holds; the bank that
    wraps it already, if one does (a node and a validator in one process share the slots)."""
    existing = bank_of(model)
    if existing is not None:
        return existing
    per_slot = slot_bytes(model, rank)
    capacity = budget_mib * MIB // per_slot
    if capacity < 1:
        raise ModelError(
            f"an adapter of rank {rank} takes {per_slot / MIB:.1f} MiB on this base model, over "
            f"the adapter memory budget of {budget_mib} MiB: give a larger --adapter-memory or "
            "a lower --adapter-rank"
        )
    return AdapterBank(model, capacity, rank)


class AdapterFolders:
    """Adapter versions fetched by CID into `root` (one folder per weights digest), once each
    however many requests ask at the same time."""

    def __init__(self, store: BlobStore, root: Path) -> None:
        self.store, self.root = store, Path(root)
        self._checked: set[str] = set()  # digests whose folder is verified in this process
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def folder(self, version: AdapterVersion) -> Path:
        digest = version.weights_digest
        into = self.root / digest
        with self._guard:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:
            if digest not in self._checked:
                manifest = read_manifest(self.store, version.manifest_cid)  # one small block
                check_adapter_files([(f.name, f.size) for f in manifest.files])
                fetch_model(self.store, version.manifest_cid, into, digest)
                self._checked.add(digest)
        return into

    def adapter(self, version: AdapterVersion) -> LoraAdapter:
        """The adapter `version` names, read from its verified folder."""
        return read_adapter(self.folder(version))

    def loader(self, catalog: AdapterCatalog, digest: str) -> Callable[[], LoraAdapter] | None:
        """What reads the adapter registered with `digest` on the catalog's base, its folder
        fetched and checked now; the read is left to the bank, which skips it when the adapter
        is resident (None: no such adapter)."""
        version = catalog.by_digest(digest)
        if version is None:
            return None
        self.folder(version)
        return lambda: self.adapter(version)


class ServedAdapters:
    """The adapters a node answers with: its catalog, their folders, the engine's bank."""

    def __init__(
        self,
        catalog: AdapterCatalog,
        folders: AdapterFolders,
        bank: AdapterBank,
        budget_mib: int,
        learned: LearnedAdapters | None = None,
    ) -> None:
        self.catalog, self.folders, self.bank = catalog, folders, bank
        self.budget_mib = budget_mib
        self.learned = learned  # the texts each adapter learned: its training attribution
        self._ids: dict[str, str] = {}  # digest -> model id, of versions loaded

    def submit(self, engine: Engine, job: Job, version: AdapterVersion) -> Future[Completion]:
        """Queue `job` on `version`, fetching and loading it if it is not resident."""
        try:
            folder = self.folders.folder(version)  # outside the bank's lock: network is slow
            if self.learned is not None:
                self.learned.learn(version.weights_digest, folder)
            future = engine.submit_adapted(
                job, version.weights_digest, lambda: self.folders.adapter(version)
            )
        except AdapterBusy as exc:
            raise NodeError(str(exc), status=503, code="adapters_busy") from None
        except (StoreError, ModelError) as exc:
            raise NodeError(
                f"adapter {version.model_id} (version {version.version}) cannot be served: {exc}",
                status=502,
                code="adapter_unavailable",
                param="model",
            ) from None
        self._ids[version.weights_digest] = version.model_id
        return future

    def to_json(self) -> dict[str, Any]:
        """What `/health` shows: the budget, and every resident adapter with its slot."""
        return {
            "budget_mib": self.budget_mib,
            "slots": self.bank.capacity,
            "rank": self.bank.rank,
            "loads": self.bank.loads,
            "registry_error": self.catalog.error,
            "resident": [
                {"id": self._ids.get(d), "weights_digest": d, "slot": slot, "in_use": pins}
                for d, (slot, pins) in self.bank.slots().items()
            ],
        }

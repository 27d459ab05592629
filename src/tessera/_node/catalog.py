"""Which adapters a node serves: the model registry's latest version of each model built on
the served base, re-read every few seconds so an adapter published after the node started is
served without a restart. A re-read asks only for what was published since the last one (the
registry's logs), so it costs the same with a thousand models as with one.

    catalog = AdapterCatalog(source, base_digest, wanted=ALL_ADAPTERS, refresh_s=2.0)
    catalog.get("acme/legal-7")  # its AdapterVersion, or None: not served here

The source is anything with the registry client's reads (`CatalogSource`): the chain's model
registry on a node (`model_registry`), an `InMemoryCatalog` in tests and benchmarks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tessera._errors import InputError
from tessera._node.policy import CHAIN_UNREADABLE
from tessera._parts import NodeParts

log = logging.getLogger("tessera._node")
ALL_ADAPTERS = "all"  # `--adapters all`: every adapter on the served base


class ModelRecordLike(Protocol):
    """What the node reads of one registered model version (the registry's `ModelRecord`)."""

    @property
    def model_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def builder(self) -> str: ...
    @property
    def weights_digest(self) -> str: ...
    @property
    def base_digest(self) -> str: ...
    @property
    def manifest_cid(self) -> str: ...


class CatalogSource(Protocol):
    """The model registry's reads a node needs (`ModelRegistryClient` has them)."""

    def head(self) -> int: ...  # the latest block
    def published(self, from_block: int, to_block: int) -> Sequence[ModelRecordLike]: ...
    def by_digest(self, digest: str) -> ModelRecordLike | None: ...


@dataclass(frozen=True)
class AdapterVersion:
    """One published adapter version: what loads it, and whose royalty its answers pay."""

    model_id: str
    version: int
    weights_digest: str  # the receipts' model digest: governance approves and pays by it
    manifest_cid: str  # its folder in the store (a model manifest block)
    builder: str
    base_digest: str  # the weights digest of the base model it was trained on

    @classmethod
    def of(cls, record: ModelRecordLike) -> AdapterVersion:
        return cls(
            record.model_id,
            int(record.version),
            record.weights_digest.lower(),
            record.manifest_cid,
            record.builder,
            record.base_digest.lower(),
        )


@dataclass(frozen=True)
class ServedVersion:
    """The model version a request asked for: the base (adapter None) or one adapter."""

    model_id: str
    weights_digest: str
    adapter: AdapterVersion | None = None


class InMemoryCatalog:
    """A model registry held in memory, each publication a block of its own."""

    def __init__(self) -> None:
        self._versions: dict[str, list[AdapterVersion]] = {}
        self._log: list[AdapterVersion] = []  # block n published self._log[n - 1]
        self._lock = threading.Lock()

    def publish(
        self, model_id: str, weights_digest: str, manifest_cid: str, base_digest: str, builder: str
    ) -> AdapterVersion:
        with self._lock:
            versions = self._versions.setdefault(model_id, [])
            record = AdapterVersion(
                model_id, len(versions) + 1, weights_digest.lower(), manifest_cid, builder,
                base_digest.lower(),
            )  # fmt: skip
            versions.append(record)
            self._log.append(record)
            return record

    def head(self) -> int:
        with self._lock:
            return len(self._log)

    def published(self, from_block: int, to_block: int) -> list[AdapterVersion]:
        with self._lock:
            return self._log[max(from_block, 1) - 1 : to_block]

    def by_digest(self, digest: str) -> AdapterVersion | None:
        with self._lock:
            found = [v for vs in self._versions.values() for v in vs if v.weights_digest == digest]
            return found[0] if found else None


def model_registry(parts: NodeParts) -> CatalogSource:
    """The deployment's model registry (models.vy): the adapters published on chain."""
    from tessera._chain.models import ModelRegistryClient

    return ModelRegistryClient(parts.chain, parts.deployment.models)


class AdapterCatalog:
    """The adapters a node serves (`wanted`: model ids, or ALL_ADAPTERS), read from `source`
    at most every `refresh_s`; only those trained on the served base (`base_digest`)."""

    def __init__(
        self, source: CatalogSource, base_digest: str, wanted: Sequence[str], refresh_s: float
    ) -> None:
        self.source, self.base_digest = source, base_digest.lower()
        self.wanted = tuple(wanted)
        self.refresh_s = refresh_s
        self.error: str | None = None  # set while the registry cannot be read
        self._served: dict[str, AdapterVersion] = {}
        self._latest: dict[str, AdapterVersion] = {}  # every model's newest version, any base
        self._through = -1  # the last block read
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._found: dict[str, AdapterVersion] = {}  # by_digest's finds

    def load(self) -> None:
        """The first read, before the node serves: an adapter named at start that is not
        published, or not built on this base, is refused here with what to do."""
        self._refresh()
        for name in self.wanted:
            if name != ALL_ADAPTERS and name not in self._served:
                raise InputError(
                    f"adapter {name!r} is not published on this base model (weights "
                    f"{self.base_digest}) in the model registry: check the name with "
                    "`tessera model show`, or serve the base it was trained on"
                )

    def served(self) -> list[AdapterVersion]:
        """Every adapter served now, by model id."""
        self._refresh_if_due()
        return sorted(self._served.values(), key=lambda v: v.model_id)

    def get(self, model_id: str) -> AdapterVersion | None:
        self._refresh_if_due()
        return self._served.get(model_id)

    def by_digest(self, digest: str) -> AdapterVersion | None:
        """The registered version with these weights, on this base (None: not one). A found
        one is kept: a digest is published once and a version never changes."""
        digest = digest.lower()
        if digest in self._found:
            return self._found[digest]
        record = self.source.by_digest(digest)
        found = AdapterVersion.of(record) if record is not None else None
        if found is None or found.base_digest != self.base_digest:
            return None
        self._found[digest] = found
        return found

    def _refresh_if_due(self) -> None:
        if time.monotonic() - self._read_at < self.refresh_s:
            return
        # one request re-reads the registry; the others serve what was read last meanwhile,
        # rather than each queueing for a read of its own
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._read()
            self.error = None
        except CHAIN_UNREADABLE as exc:  # keep serving what was read last, and say so
            self._read_at = time.monotonic()  # and retry at the next interval, not sooner
            self.error = f"cannot read the model registry: {type(exc).__name__}: {exc}"
            log.warning(self.error)
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        with self._lock:
            self._read()

    def _read(self) -> None:
        """Read what was published since the last read; the caller holds the lock."""
        head = self.source.head()
        if head > self._through:
            for record in self.source.published(self._through + 1, head):
                version = AdapterVersion.of(record)
                known = self._latest.get(version.model_id)
                if known is None or version.version > known.version:
                    self._latest[version.model_id] = version
                if version.base_digest == self.base_digest:
                    self._found[version.weights_digest] = version
            self._through = head
        everything = ALL_ADAPTERS in self.wanted
        served = {
            name: version
            for name, version in self._latest.items()
            if (everything or name in self.wanted) and version.base_digest == self.base_digest
        }
        new = sorted(served.keys() - self._served.keys())
        if new and self._read_at != float("-inf"):
            log.info("serving newly published adapters: %s", ", ".join(new))
        self._served, self._read_at = served, time.monotonic()

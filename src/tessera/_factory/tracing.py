"""Trace an answer to its model and data: receipt -> model version on chain -> adapter files
(hash-checked) -> snapshot -> every contribution trained on, each one provable.

Nothing is taken on the builder's word: the files must hash to the digest on chain, the
provenance inside them must say what the chain recorded, the snapshot roots are recomputed
from the registry, and every contribution must sit in its datanet's snapshot with a valid
signature. What does not check out is listed, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tessera._chain.models import ModelRecord, ModelRegistryClient
from tessera._chain.registry import RegistryClient
from tessera._crypto.receipt import Receipt
from tessera._data.index import ContributionIndex
from tessera._errors import ModelError, NotFoundError
from tessera._factory.provenance import (
    Provenance,
    artefact_problems,
    read_provenance,
    snapshot_problems,
)
from tessera._models.publication import fetch_model
from tessera._store.base import BlobStore


@dataclass(frozen=True)
class TracedContribution:
    datanet: int
    cid: str
    contributor: str
    batch: int


@dataclass(frozen=True)
class ModelTrace:
    record: ModelRecord
    folder: Path  # the adapter's files, each checked against its CID and the version's digest
    provenance: Provenance
    contributions: tuple[TracedContribution, ...]
    problems: tuple[str, ...]  # empty: every claim checks out

    @property
    def ok(self) -> bool:
        return not self.problems


def trace_receipt(
    store: BlobStore,
    registry: RegistryClient,
    index: ContributionIndex,
    models: ModelRegistryClient,
    receipt: Receipt,
    cache: Path,
) -> ModelTrace:
    record = models.by_digest(receipt.model_digest)
    if record is None or record.model_id != receipt.model:
        raise NotFoundError(
            f"the receipt's model {receipt.model} at {receipt.model_digest} is not a published "
            "model version: it was answered by a base model or by an unpublished adapter"
        )
    return trace_version(store, registry, index, record, cache)


def trace_version(
    store: BlobStore,
    registry: RegistryClient,
    index: ContributionIndex,
    record: ModelRecord,
    cache: Path,
) -> ModelTrace:
    folder = fetch_model(
        store, record.manifest_cid, Path(cache) / record.weights_digest, record.weights_digest
    )
    provenance = read_provenance(folder)
    problems = _record_problems(record, provenance)
    problems += snapshot_problems(registry, provenance)
    index.sync(registry, store)
    traced, missing = _trace_contributions(registry, index, provenance)
    problems += missing
    return ModelTrace(record, folder, provenance, traced, tuple(problems))


def trace_folder(
    registry: RegistryClient, store: BlobStore, index: ContributionIndex, folder: Path
) -> tuple[TracedContribution, ...]:
    """Every contribution a fetched, hash-checked adapter folder was trained on, each traced
    to its signed registration in the snapshot on chain; ModelError naming what is not."""
    provenance = read_provenance(folder)
    problems = artefact_problems(folder, provenance) + snapshot_problems(registry, provenance)
    index.sync(registry, store)
    traced, missing = _trace_contributions(registry, index, provenance)
    problems += missing
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ModelError("; ".join(problems[:3]) + more)
    return traced


def _record_problems(record: ModelRecord, p: Provenance) -> list[str]:
    claims = {
        "model id": (record.model_id, p.model_id),
        "builder": (record.builder.lower(), p.builder.lower()),
        "base digest": (record.base_digest, p.base_digest),
        "config hash": (record.config_hash, p.config_hash),
        "data root": (record.data_root, p.data_root),
        "contribution count": (record.data_count, len(p.contributions)),
        "proven data": (record.data_proven, p.proven),
        "datanets": (tuple(record.snapshot.datanets), p.snapshot.datanets),
        "batch counts": (tuple(record.snapshot.batch_counts), p.snapshot.batch_counts),
    }
    return [
        f"the chain records {what} {chain!r}, the adapter's provenance {file!r}"
        for what, (chain, file) in claims.items()
        if chain != file
    ]


def _trace_contributions(
    registry: RegistryClient, index: ContributionIndex, p: Provenance
) -> tuple[tuple[TracedContribution, ...], list[str]]:
    in_snapshot = {
        entry.id: {registry.datanet_batch(entry.id, i) for i in range(entry.batches)}
        for entry in p.datanets
    }
    traced, problems = [], []
    for datanet, cid in p.contributions:
        batches = in_snapshot.get(datanet, set())
        found = [
            c for c in index.find(cid) if c.datanet == datanet and c.batch in batches and
            c.signature_ok
        ]  # fmt: skip
        if found:
            traced.append(TracedContribution(datanet, cid, found[0].contributor, found[0].batch))
        else:
            problems.append(f"contribution {cid} is not in datanet #{datanet}'s snapshot")
    return tuple(traced), problems

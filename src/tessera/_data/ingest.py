"""Contribute: chunk, store, sign and register in batches, resumable after any crash.

Why a rerun never duplicates or skips: chunking is deterministic, signatures are
deterministic (RFC 6979), the index is re-synced from the chain before anything is sent,
and the registry refuses a root it already holds. So a batch that landed before a crash is
found and skipped, and one that did not is rebuilt identically and sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from tessera._chain.registry import DatanetRecord, RegistryClient
from tessera._crypto.eip712 import Domain, contribution_digest, sign_digest
from tessera._data.chunking import Chunk, chunk_paths
from tessera._data.datanets import resolve_datanet
from tessera._data.index import ContributionIndex
from tessera._data.manifest import BatchManifest, Leaf
from tessera._errors import InputError
from tessera._store.base import BlobStore
from tessera._store.cid import digest_from_cid

DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 65536  # proofs stay under the registry's 255-sibling bound

Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    datanet: str
    chunks: int = 0
    registered: int = 0
    already_in_datanet: list[str] = field(default_factory=list)
    repeated_in_input: int = 0
    batches: list[int] = field(default_factory=list)
    gas_used: int = 0


@dataclass(frozen=True)
class IngestContext:
    registry: RegistryClient
    store: BlobStore
    index: ContributionIndex
    domain: Domain


def contribute(
    ctx: IngestContext,
    datanet_name: str,
    paths: Sequence[Path],
    signer: LocalAccount,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> IngestReport:
    _check_batch_size(batch_size)
    if not paths:
        raise InputError("no files given: name at least one .txt, .md or .jsonl file or folder")
    datanet = resolve_datanet(ctx.registry, datanet_name)  # the cheapest mistake comes first
    chunks = chunk_paths(paths)  # validates every file before anything touches the chain
    return _ingest(ctx, datanet, chunks, signer, batch_size, progress)


def contribute_chunks(
    ctx: IngestContext,
    datanet_name: str,
    chunks: Sequence[Chunk],
    signer: LocalAccount,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> IngestReport:
    _check_batch_size(batch_size)
    datanet = resolve_datanet(ctx.registry, datanet_name)
    return _ingest(ctx, datanet, chunks, signer, batch_size, progress)


def _check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"batch size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")


def _ingest(
    ctx: IngestContext,
    datanet: DatanetRecord,
    chunks: Sequence[Chunk],
    signer: LocalAccount,
    batch_size: int,
    progress: Progress | None,
) -> IngestReport:
    report = IngestReport(datanet.name, chunks=len(chunks))
    cids: list[str] = []
    for chunk in chunks:
        cids.append(ctx.store.put(chunk.data))
    ctx.index.sync(ctx.registry, ctx.store)
    known = ctx.index.known_cids(datanet.id)
    fresh: list[str] = []
    seen: set[str] = set()
    for cid in cids:
        if cid in known:
            report.already_in_datanet.append(cid)
        elif cid in seen:
            report.repeated_in_input += 1
        else:
            seen.add(cid)
            fresh.append(cid)
    if progress:
        progress(0, len(fresh))
    for start in range(0, len(fresh), batch_size):
        leaves = tuple(
            Leaf(
                cid,
                signer.address,
                sign_digest(
                    signer,
                    contribution_digest(
                        ctx.domain, datanet.id, digest_from_cid(cid), datanet.license
                    ),
                ),
            )
            for cid in fresh[start : start + batch_size]
        )
        manifest = BatchManifest(
            ctx.domain.chain_id, ctx.domain.verifying_contract, datanet.id, datanet.license, leaves
        )
        batch_id, gas = _register(ctx, manifest, signer)
        report.batches.append(batch_id)
        report.registered += len(leaves)
        report.gas_used += gas
        if progress:
            progress(report.registered, len(fresh))
    ctx.index.sync(ctx.registry, ctx.store)
    return report


def _register(ctx: IngestContext, manifest: BatchManifest, sender: LocalAccount) -> tuple[int, int]:
    """Register the batch unless the chain already holds it; returns (batch id, gas used)."""
    # the manifest is stored before the transaction, so the chain never names a blob we lack
    content_uri = ctx.store.put(manifest.to_bytes())
    # the batch's contributions as one DAG, so a peer fetches them in one CAR request
    ctx.store.put_collection([leaf.cid for leaf in manifest.leaves])
    root = manifest.tree.root
    existing = ctx.registry.batch_id_by_root(manifest.datanet, root)
    if existing:
        return existing, 0
    return ctx.registry.register_batch(
        sender,
        manifest.datanet,
        root,
        len(manifest.leaves),
        manifest.contributors_hash,
        len(manifest.contributors),
        content_uri,
    )

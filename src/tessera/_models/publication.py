"""Model folders by CID: publish a folder's files and manifest to a store; fetch one, verified.

A fetched model is written into a temp folder beside its target, checked file by file against
the manifest's sizes and as a whole against its `weights_digest` (and the digest the caller
expects, such as the one governance approved), then renamed into place in one step: a folder
at the target is always a verified model, and a failure leaves nothing behind but verified
blocks in the store.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, cast

from tessera._errors import InputError, ModelError, StoreError
from tessera._models.digest import weights_digest
from tessera._models.model_manifest import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_MODEL_ID,
    VERSION,
    ModelFile,
    ModelManifest,
    parse_manifest,
    plain_name_problem,
)
from tessera._store.base import BlobStore
from tessera._store.cid import RAW, Cid, decode_cid
from tessera._store.dag import walk
from tessera._store.dagpb import MAX_BLOCK, decode_node
from tessera._store.fetching import FetchingBlobStore
from tessera._store.unixfs import decode_file


def publish_model(store: BlobStore, folder: Path, model_id: str) -> ModelManifest:
    """Put every file of `folder` and its manifest into `store` (idempotent); the manifest's
    `cid` names this exact version anywhere the store's blocks are served."""
    paths = _model_files(Path(folder), model_id)
    digest = weights_digest(folder)
    files = tuple(ModelFile(path.name, *_put_file(store, path)) for path in paths)
    if any(f.size != path.stat().st_size for f, path in zip(files, paths, strict=True)):
        raise InputError(f"a file in {folder} changed while it was published: publish it again")
    store.put_collection([f.cid for f in files])  # so a peer serves the whole model in one CAR
    manifest = ModelManifest(VERSION, model_id, digest, files)
    store.put_block(manifest.cid, manifest.to_bytes())
    return manifest


def read_manifest(store: BlobStore, manifest_cid: str) -> ModelManifest:
    """The manifest `manifest_cid` names (fetched if this store lacks it), checked."""
    if decode_cid(manifest_cid).codec != RAW:
        raise StoreError(
            f"{manifest_cid} is not a model manifest, which is one raw block (bafkrei...): "
            "check the CID with the model's publisher"
        )
    return parse_manifest(manifest_cid, store.get_block(manifest_cid))


def fetch_model(
    store: BlobStore, manifest_cid: str, into: Path, expected_digest: str | None = None
) -> Path:
    """The verified model folder `into`, fetched by its manifest's CID unless it is there.
    `expected_digest` (such as the approved one) must be the manifest's weights digest."""
    manifest = read_manifest(store, manifest_cid)
    if expected_digest is not None and manifest.weights_digest != expected_digest.lower():
        raise ModelError(
            f"model {manifest_cid} has weights digest {manifest.weights_digest}, not the "
            f"{expected_digest} expected: check which version you meant"
        )
    into = Path(into)
    if into.exists():
        return _verified(into, manifest_cid, manifest)
    into.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}.fetch-"))
    try:
        _fetch_files(store, manifest_cid, manifest, work)
        got = weights_digest(work)
        if got != manifest.weights_digest:
            raise StoreError(
                f"model {manifest_cid}'s files give weights digest {got}, not the "
                f"{manifest.weights_digest} its manifest names: its publisher must publish it again"
            )
        return _place(work, into, manifest_cid, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone once renamed; else nothing is left


def _model_files(folder: Path, model_id: str) -> list[Path]:
    """The files a model folder's digest covers, each fit to publish; InputError if not."""
    if not isinstance(model_id, str) or not 0 < len(model_id) <= MAX_MODEL_ID:
        raise InputError(f"a model id has 1 to {MAX_MODEL_ID} characters, such as gemma-3-270m")
    if not model_id.isprintable():
        raise InputError("the model id holds unprintable characters: give one such as gemma-3-270m")
    if not folder.is_dir():
        raise InputError(f"no model folder at {folder}: give a Hugging Face model's folder")
    paths = sorted(p for p in folder.iterdir() if p.is_file())  # as `weights_digest` reads it
    if not 0 < len(paths) <= MAX_FILES:
        raise InputError(f"{folder} holds {len(paths)} files: a model has 1 to {MAX_FILES}")
    for path in paths:
        problem = plain_name_problem(path.name)
        if problem is not None:
            raise InputError(
                f"{problem}: rename it or move it out of {folder}, since every file counts "
                "in the model's digest"
            )
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path} is over {MAX_FILE_BYTES} bytes, the most one file may hold")
    return paths


def _put_file(store: BlobStore, path: Path) -> tuple[str, int]:
    """(CID, size) of a file put into `store`. `put` takes the whole bytes and builds every
    block before storing them: a big file is mapped rather than read, so the blocks are its one
    copy in memory (bounded by MAX_FILE_BYTES), not two."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= store.chunk_size:
            data = handle.read()
            return store.put(data), len(data)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return store.put(cast(bytes, mapped)), len(mapped)  # sliced chunk by chunk


def _fetch_files(store: BlobStore, cid: str, manifest: ModelManifest, work: Path) -> None:
    try:
        _check_roots(store, manifest)
        if isinstance(store, FetchingBlobStore):  # one CAR of the whole model, where a peer has it
            store.fetch_collection([f.cid for f in manifest.files])
        for f in manifest.files:
            with (work / f.name).open("xb") as handle:
                _write_blob(store, decode_cid(f.cid), handle, f.size)
    except (StoreError, InputError) as exc:
        raise StoreError(f"fetching model {cid} failed: {exc}") from None
    except OSError as exc:
        raise ModelError(
            f"model {cid} could not be written under {work.parent} ({exc.strerror or exc}): "
            "free some disk space, then fetch it again"
        ) from None


def _check_roots(store: BlobStore, manifest: ModelManifest) -> None:
    """Each file's root must declare the manifest's size: one block each, before any bulk."""
    for f in manifest.files:
        root = decode_cid(f.cid)
        if root.codec == RAW:
            declared = f.size if f.size <= MAX_BLOCK else -1  # a raw block holds at most 1 MiB
        else:
            declared = decode_file(decode_node(store.get_block(f.cid)).data or b"").filesize
        if declared != f.size:
            raise StoreError(f"{f.name} ({f.cid}) does not hold the {f.size} bytes named")


def _write_blob(store: BlobStore, root: Cid, handle: BinaryIO, size: int) -> None:
    """Write blob `root`'s bytes as its blocks come (every one verified by the store), never
    more than `size`: a file DAG of any size passes through without a copy in memory."""
    visits_left = 2 * size + 16  # a real file has fewer nodes than bytes; a looping DAG stops
    written = 0
    for cid, block in walk(lambda c: store.get_block(str(c)), root, dups=True):
        visits_left -= 1
        piece = block if cid.codec == RAW else decode_file(decode_node(block).data or b"").data
        written += len(piece)
        if written > size or visits_left < 0:
            raise StoreError(f"{root} holds more than the {size} bytes named")
        handle.write(piece)
    if written != size:
        raise StoreError(f"{root} holds {written} bytes, not the {size} named")


def _verified(folder: Path, cid: str, manifest: ModelManifest) -> Path:
    """`folder`, which is there already, if it is this model; ModelError if not."""
    if folder.is_dir() and weights_digest(folder) == manifest.weights_digest:
        return folder
    raise ModelError(
        f"{folder} exists but is not model {cid} (weights digest {manifest.weights_digest}): "
        "move it away, then fetch the model again"
    )


def _place(work: Path, into: Path, cid: str, manifest: ModelManifest) -> Path:
    """Rename the verified `work` to `into` in one step; if another fetch got there first,
    theirs stands (once it checks out)."""
    try:
        os.rename(work, into)
    except OSError as exc:
        if into.exists():
            return _verified(into, cid, manifest)
        raise ModelError(
            f"model {cid} could not be moved to {into} ({exc.strerror or exc}): check that "
            "folder's permissions, then fetch it again"
        ) from None
    return into

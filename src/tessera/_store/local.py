"""Blocks in a local folder, one file per CID, written atomically, checked on every read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tessera._errors import StoreError
from tessera._store.base import BlobStore
from tessera._store.cid import DAG_PB, Cid, decode_cid
from tessera._store.dagpb import MAX_BLOCK, decode_node
from tessera._store.layout import CHUNK_SIZE


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.chunk_size = chunk_size
        self._folders: set[Path] = set()

    def _path(self, cid: str) -> Path:
        # parsing first rejects malformed ids before they touch the file system; a CIDv0 and
        # its v1 name one block, kept once under the canonical v1 text
        name = str(decode_cid(cid).v1())
        return self.root / name[-2:] / name

    def put_block(self, cid: str, data: bytes, sync: bool = True) -> None:
        """Store a verified block; `sync=False` skips the fsync, for blocks that can be fetched
        again (every read verifies, so one a crash left unwritten is found and refetched)."""
        self.add_block(cid, data, sync)

    def add_block(self, cid: str, data: bytes, sync: bool = True) -> bool:
        """`put_block` that says whether the block was new here."""
        check_block(decode_cid(cid), data)
        path = self._path(cid)
        if path.exists():
            return False
        if path.parent not in self._folders:  # one mkdir per folder, not one per block
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        # temp file + rename: a crash never leaves a truncated block under a valid CID
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def get_block(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(
                f"blob {cid} is not in the local store at {self.root}: "
                "it was never stored on this machine or was deleted"
            ) from None
        if not decode_cid(cid).matches(data):
            raise StoreError(
                f"blob {cid} in {self.root} is corrupted (its content no longer matches its CID): "
                "delete the file and fetch or contribute it again"
            )
        return data

    def has_block(self, cid: str) -> bool:
        return self._path(cid).exists()

    def discard_block(self, cid: str) -> None:
        """Remove a block (one found corrupted, before it is fetched again)."""
        self._path(cid).unlink(missing_ok=True)


def check_block(cid: Cid, data: bytes) -> None:
    """StoreError unless `data` is the block `cid` names: its hash, at most 1 MiB, a well-formed
    node when it is dag-pb."""
    if len(data) > MAX_BLOCK:
        raise StoreError(f"block {cid} has {len(data)} bytes, over the 1 MiB block limit")
    if not cid.matches(data):
        raise StoreError(f"block {cid} does not match its CID: refused, nothing stored")
    if cid.codec == DAG_PB:
        decode_node(data)

"""Blobs in a local folder, one file per CID, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tessera._errors import StoreError
from tessera._store.base import BlobStore
from tessera._store.cid import cid_for, digest_from_cid


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, cid: str) -> Path:
        digest_from_cid(cid)  # rejects malformed ids before they touch the file system
        return self.root / cid[-2:] / cid

    def put(self, data: bytes) -> str:
        cid = cid_for(data)
        path = self._path(cid)
        if path.exists():
            return cid
        path.parent.mkdir(parents=True, exist_ok=True)
        # temp file + rename: a crash never leaves a truncated blob under a valid CID
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cid

    def get(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(
                f"blob {cid} is not in the local store at {self.root}: "
                "it was never stored on this machine or was deleted"
            ) from None
        if cid_for(data) != cid:
            raise StoreError(
                f"blob {cid} in {self.root} is corrupted (its content no longer matches its CID): "
                "delete the file and fetch or contribute it again"
            )
        return data

    def has(self, cid: str) -> bool:
        return self._path(cid).exists()

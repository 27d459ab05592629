"""The blob store interface: blocks by CID underneath, whole blobs on top, checked on every read.

A backend implements the three block methods; blobs, DAG walks and collections are built on
them here, so every backend (local folder, one that fetches from peers) gives the same CIDs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from tessera._store.cid import RAW, Cid, decode_cid
from tessera._store.dag import first_missing, read_file, walk
from tessera._store.layout import CHUNK_SIZE, collection_blocks, file_blocks


class BlobStore(ABC):
    """Content-addressed storage. Backends (local folder, IPFS peers) share the same CIDs."""

    chunk_size: int = CHUNK_SIZE

    @abstractmethod
    def put_block(self, cid: str, data: bytes) -> None:
        """Store one raw or dag-pb block after checking it against `cid`; StoreError if not."""

    @abstractmethod
    def get_block(self, cid: str) -> bytes:
        """The bytes of block `cid`, verified; StoreError if missing or corrupted."""

    @abstractmethod
    def has_block(self, cid: str) -> bool:
        """Whether this machine holds block `cid` (never asks a peer)."""

    def local_blocks(self) -> BlobStore:
        """The blocks this machine holds, a store that never asks a peer: what a gateway serves."""
        return self

    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its CID: raw up to one chunk, else a UnixFS DAG."""
        blocks = file_blocks(data, self.chunk_size)
        for cid, block in blocks:
            self.put_block(str(cid), block)
        return str(blocks[-1][0])

    def get(self, cid: str) -> bytes:
        """The bytes of blob `cid` (a file DAG reassembled); StoreError if missing or corrupted."""
        root = decode_cid(cid)
        if root.codec == RAW:
            return self.get_block(cid)
        return read_file(self._get, root)

    def has(self, cid: str) -> bool:
        """Whether this machine holds every block of `cid`."""
        root = decode_cid(cid)
        return first_missing(lambda c: self.has_block(str(c)), self._get, root) is None

    def dag_blocks(self, root: str) -> Iterator[tuple[Cid, bytes]]:
        """Every block under `root` once, depth-first in link order (a `dag-scope=all` CAR)."""
        return walk(self._get, decode_cid(root))

    def put_collection(self, cids: list[str]) -> str:
        """Store the dag-pb nodes gathering `cids` under one root and return it (see
        `collection_cid`); the blocks named need not be here."""
        blocks = collection_blocks([decode_cid(c) for c in cids])
        for cid, block in blocks:
            self.put_block(str(cid), block)
        return str(blocks[-1][0])

    def _get(self, cid: Cid) -> bytes:
        return self.get_block(str(cid))


def collection_cid(cids: list[str]) -> str:
    """The root CID of the collection of `cids`: anyone holding the list computes the same."""
    return str(collection_blocks([decode_cid(c) for c in cids])[-1][0])

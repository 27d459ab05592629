"""The blob store interface: bytes in, CID out, integrity checked on every read."""

from __future__ import annotations

from abc import ABC, abstractmethod


class BlobStore(ABC):
    """Content-addressed storage. Backends (local folder, IPFS) share the same CIDs."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its CID."""

    @abstractmethod
    def get(self, cid: str) -> bytes:
        """Return the bytes of `cid`; raise StoreError if missing or corrupted."""

    @abstractmethod
    def has(self, cid: str) -> bool:
        """Whether the store holds `cid`."""

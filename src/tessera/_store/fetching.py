"""A blob store that fetches what it lacks from peers, and keeps only what it verified.

A miss on a raw block fetches that block; a miss on a dag-pb root fetches its whole DAG as one
CAR; a collection travels as one CAR too. A block is stored only when its bytes match its CID
and it lies under what was asked for (a peer's unexpected blocks are ignored, as the trustless
gateway spec asks). What a CAR left out is then fetched block by block.
"""

from __future__ import annotations

from tessera._errors import StoreError
from tessera._store.base import BlobStore
from tessera._store.cid import DAG_PB, Cid, decode_cid
from tessera._store.dag import first_missing, links_of
from tessera._store.layout import collection_blocks
from tessera._store.local import LocalBlobStore
from tessera._store.peers import PeerFetcher


class FetchingBlobStore(BlobStore):
    def __init__(self, local: LocalBlobStore, fetcher: PeerFetcher) -> None:
        self.local = local
        self.fetcher = fetcher
        self.chunk_size = local.chunk_size
        self.fetched = 0  # blocks fetched from peers and stored, over this store's life

    def local_blocks(self) -> BlobStore:
        return self.local

    def put_block(self, cid: str, data: bytes) -> None:
        self.local.put_block(cid, data)

    def has_block(self, cid: str) -> bool:
        return self.local.has_block(cid)

    def get_block(self, cid: str) -> bytes:
        if self.local.has_block(cid):
            try:
                return self.local.get_block(cid)
            except StoreError:  # corrupted, e.g. a crash before an unsynced block reached disk
                self.local.discard_block(cid)
        data = self.fetcher.fetch_block(cid)
        self._keep(cid, data)
        return data

    def get(self, cid: str) -> bytes:
        root = decode_cid(cid)
        if root.codec == DAG_PB and not self.has(cid):
            self._fetch_dags(root, [root])
        return super().get(cid)  # what is still missing comes block by block

    def fetch_collection(self, cids: list[str]) -> int:
        """Fetch every blob in `cids` (whole DAGs) as one CAR of their collection, then block by
        block whatever no peer's CAR held; return how many blocks were fetched."""
        before = self.fetched
        roots = [decode_cid(c) for c in cids]
        if all(self.has(str(r)) for r in roots):
            return 0
        nodes = collection_blocks(roots)
        for cid, block in nodes:  # computed from the list alone: nothing to fetch or trust
            self.local.put_block(str(cid), block)
        self._fetch_dags(nodes[-1][0], roots)
        for root in roots:
            self._fill(root)
        return self.fetched - before

    def _fetch_dags(self, request: Cid, roots: list[Cid]) -> None:
        """One CAR of `request` per peer attempt, storing the verified blocks under `roots`.
        When no peer had even `request`, that is the error; otherwise the caller fills gaps."""
        wanted = {request.v1()}

        def receive(cid: Cid, block: bytes) -> None:
            if cid.v1() not in wanted:
                return  # not under what we asked for: ignored, never stored
            wanted.discard(cid.v1())
            self._keep(str(cid), block)
            wanted.update(link.v1() for link in links_of(cid, block))

        def missing() -> str | None:
            if not wanted:  # every block under `request` arrived: nothing to walk
                return None
            for root in roots:
                gap = self._first_missing(root)
                if gap is not None:
                    return f"block {gap} under {root} was not sent"
            return None

        try:
            self.fetcher.fetch_car(str(request), receive, missing)
        except StoreError:
            if not self.local.has_block(str(request)):
                raise

    def _fill(self, root: Cid) -> None:
        """Fetch what is missing under `root`: a dag-pb subtree by CAR, a raw block alone."""
        while (gap := self._first_missing(root)) is not None:
            if gap.codec == DAG_PB:
                self._fetch_dags(gap, [gap])
            if not self.local.has_block(str(gap)):
                self.get_block(str(gap))  # the error names the block and every peer tried

    def _keep(self, cid: str, data: bytes) -> None:
        # checked again as it is stored: nothing unverified is kept; no fsync, since a block
        # lost in a crash is found by the next read's check and fetched again
        if self.local.add_block(cid, data, sync=False):
            self.fetched += 1

    def _first_missing(self, root: Cid) -> Cid | None:
        def get(cid: Cid) -> bytes:
            return self.local.get_block(str(cid))

        return first_missing(lambda c: self.local.has_block(str(c)), get, root)

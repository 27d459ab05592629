"""Fetching blocks and CARs from peers over the IPFS trustless gateway protocol, verified.

A peer is a base URL: a Tessera node or any IPFS gateway (kubo's `http://127.0.0.1:8080`).
Peers are tried in order; one that is down, slow (bounded connect and read time, and a deadline
per attempt) or sends bytes that do not match their CID is logged and the next one is tried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from contextlib import closing
from typing import TypeVar

import httpx

from tessera._errors import StoreError
from tessera._store.car import CarReader
from tessera._store.cid import Cid, decode_cid
from tessera._store.dagpb import MAX_BLOCK

log = logging.getLogger(__name__)
T = TypeVar("T")

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
Receive = Callable[[Cid, bytes], None]  # takes one verified block; StoreError refuses the peer
Missing = Callable[[], str | None]  # after a CAR: what is still missing, or None when whole


class PeerFetcher:
    """GETs `/ipfs/{cid}` from the peers `peers()` names, verifying every block it returns."""

    def __init__(
        self,
        peers: Callable[[], list[str]],
        timeout_s: float = 5.0,
        max_bytes: int = 1 << 33,
        deadline_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.peers = peers
        self.max_bytes = max_bytes  # per CAR attempt: a peer cannot stream forever
        self.deadline_s = deadline_s  # per attempt: a peer that trickles is cut off
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    def close(self) -> None:
        self._client.close()

    def fetch_block(self, cid: str) -> bytes:
        """The block `cid` from the first peer whose bytes match it; StoreError naming every
        peer tried and what each said when none does."""
        parsed = decode_cid(cid)

        def attempt(peer: str) -> bytes:
            body = b"".join(self._stream(peer, cid, "raw", RAW_TYPE, MAX_BLOCK))
            if not parsed.matches(body):
                raise StoreError(f"sent {len(body)} bytes that do not match the CID")
            return body

        return self._first(cid, attempt)

    def fetch_car(self, root: str, receive: Receive, missing: Missing) -> str:
        """Stream `root`'s whole DAG as a CAR (`dag-scope=all`) from each peer in turn, handing
        `receive` each verified block, until `missing()` says nothing is; return that peer."""
        parsed = decode_cid(root)

        def attempt(peer: str) -> str:
            chunks = self._stream(peer, root, "car&dag-scope=all", CAR_TYPE, self.max_bytes)
            with closing(chunks):  # a refused stream is closed at once, not when collected
                for cid, block in CarReader(chunks, expected_root=parsed).blocks():
                    receive(cid, block)
            still = missing()
            if still is not None:
                raise StoreError(f"sent an incomplete DAG ({still})")
            return peer

        return self._first(root, attempt)

    def _first(self, cid: str, attempt: Callable[[str], T]) -> T:
        peers = [p.rstrip("/") for p in self.peers()]
        if not peers:
            raise StoreError(
                f"{cid} is not here and no peers are known to fetch it from: "
                "join a network or add an IPFS gateway as a peer"
            )
        said: list[str] = []
        for peer in peers:
            try:
                return attempt(peer)
            except (StoreError, httpx.HTTPError, httpx.InvalidURL) as exc:
                # the reason goes into the error that names every peer tried
                reason = str(exc) or type(exc).__name__
                log.warning("peer %s refused for %s: %s", peer, cid, reason)
                said.append(f"{peer}: {reason}")
        tried = "; ".join(said)
        raise StoreError(
            f"no peer gave {cid} (tried {tried}): check the CID or add a peer that has it"
        )

    def _stream(
        self, peer: str, cid: str, fmt: str, accept: str, limit: int
    ) -> Generator[bytes, None, None]:
        deadline = time.monotonic() + self.deadline_s
        url = f"{peer}/ipfs/{cid}?format={fmt}"
        with self._client.stream("GET", url, headers={"Accept": accept}) as response:
            if response.status_code != 200:
                raise StoreError(f"answered HTTP {response.status_code}")
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > limit:
                    raise StoreError(f"sent more than {limit} bytes")
                if time.monotonic() > deadline:
                    raise StoreError(f"took longer than {self.deadline_s:g} s")
                yield chunk

"""The network's content policy and model approvals, as this node honours them.

Checked once per request with one call (the policy's `version`) and re-read only when it
moved, so a passed proposal takes effect from the next block on.
"""

from __future__ import annotations

import logging
import threading

import requests
from web3.exceptions import Web3Exception

from tessera._chain.governance import PolicyClient, PolicySnapshot
from tessera._errors import ChainError, TesseraError

log = logging.getLogger("tessera._node")
NO_POLICY = PolicySnapshot(0, frozenset(), frozenset(), frozenset())
# what a chain read raises when the chain cannot be read (or answers nonsense)
CHAIN_UNREADABLE = (TesseraError, OSError, Web3Exception, requests.RequestException)


class PolicyWatch:
    def __init__(self, client: PolicyClient) -> None:
        self.client = client
        self.error: str | None = None  # set while the chain cannot be read
        self._snapshot = NO_POLICY
        self._lock = threading.Lock()

    def load(self) -> PolicySnapshot:
        """The first read, before the node serves anything: a node that cannot learn the
        policy must not start, or it would serve what the network blocked."""
        try:
            with self._lock:
                self._snapshot = self.client.snapshot()
        except CHAIN_UNREADABLE as exc:
            raise ChainError(
                f"cannot read the network's content policy at {self.client.address} "
                f"({type(exc).__name__}: {exc}): check the chain, then start the node again"
            ) from None
        return self._snapshot

    def current(self) -> PolicySnapshot:
        """The policy as of the latest block. If the chain cannot be read, the last policy
        read stays in force and `error` says so (answers carry it as `stale`)."""
        try:
            version = self.client.version()
            with self._lock:
                if version != self._snapshot.version:
                    self._snapshot = self.client.snapshot()
                    log.info(
                        "content policy v%d: %d CIDs and %d datanets blocked",
                        self._snapshot.version,
                        len(self._snapshot.blocked_cids),
                        len(self._snapshot.blocked_datanets),
                    )
            self.error = None
        except CHAIN_UNREADABLE as exc:
            self.error = f"cannot read the content policy: {type(exc).__name__}: {exc}"
            log.warning(self.error)
        return self._snapshot

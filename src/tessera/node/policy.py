"""The network's content policy and model approvals, as this node honours them.

Checked once per request with one call (the policy's `version`) and re-read only when it
moved, so a passed proposal takes effect from the next block on.
"""

from __future__ import annotations

import logging
import threading

from tessera.chain.governance import PolicyClient, PolicySnapshot
from tessera.errors import TesseraError

log = logging.getLogger("tessera.node")
NO_POLICY = PolicySnapshot(0, frozenset(), frozenset(), frozenset())


class PolicyWatch:
    def __init__(self, client: PolicyClient) -> None:
        self.client = client
        self.error: str | None = None
        self._snapshot = NO_POLICY
        self._lock = threading.Lock()

    def current(self) -> PolicySnapshot:
        """The policy as of the latest block. If the chain cannot be read, the last policy
        read stays in force (it only ever blocks more once the chain answers again)."""
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
                return self._snapshot
        except (TesseraError, OSError) as exc:
            self.error = f"cannot read the content policy: {exc}"
            log.warning(self.error)
            return self._snapshot

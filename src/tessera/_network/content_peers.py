"""Where a home fetches content it lacks: the registered nodes' gateways, then its own gateways.

Every registered, active node serves its blobs at `{endpoint}/ipfs/{cid}`; the user may add
IPFS gateways (their kubo's, say). The registry is read at most once per `refresh_s`, so a
store that misses many blobs in a row does not ask the chain for every one of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from tessera._chain.staking import StakingClient
from tessera._errors import ChainError

log = logging.getLogger(__name__)
REFRESH_S = 10.0


class RegisteredPeers:
    """A callable that lists peer URLs: active registered nodes (but `own` addresses, which
    are this home's: asking oneself is no help), then `gateways`."""

    def __init__(
        self,
        staking: StakingClient,
        own: Callable[[], Sequence[str]],
        gateways: Sequence[str] = (),
        refresh_s: float = REFRESH_S,
    ) -> None:
        self.staking, self.own, self.gateways = staking, own, tuple(gateways)
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._nodes: list[str] = []
        self._read_at = float("-inf")

    def __call__(self) -> list[str]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.refresh_s:
                self._nodes = self._registered()
                self._read_at = time.monotonic()
            return [*self._nodes, *self.gateways]

    def refresh(self) -> None:
        """Read the registry again on the next call (a node joined or left)."""
        with self._lock:
            self._read_at = float("-inf")

    def _registered(self) -> list[str]:
        own = {address.lower() for address in self.own()}
        try:
            records = self.staking.nodes()
        except ChainError as exc:  # the chain is down: the gateways may still have it
            log.warning("cannot read the node registry for peers: %s", exc)
            return self._nodes
        return [
            r.endpoint.rstrip("/") for r in records if r.active and r.address.lower() not in own
        ]

"""Keep a copy of every epoch bundle posted on chain, so the network can serve it.

A recipient builds its claim proof, and an auditor re-checks an epoch, from the bundle whose
CID the epoch names. If only the node that posted it held the bundle, that node going down
would strand every claim of the epoch; each node therefore fetches (and verifies against its
CID) the bundles other nodes post and serves them at /ipfs like its own.
"""

from __future__ import annotations

import logging

from tessera._chain.settlement import SettlementClient
from tessera._errors import StoreError
from tessera._store.base import BlobStore

log = logging.getLogger("tessera._node")


class BundleKeeper:
    def __init__(self, settlement: SettlementClient, store: BlobStore, from_block: int) -> None:
        self.settlement, self.store, self.from_block = settlement, store, from_block
        self.kept: dict[str, int] = {}  # node -> how many of its epochs are held here

    def sync(self) -> int:
        """Fetch the bundles posted since the last sync; returns how many were newly held.
        A bundle no peer serves yet is retried on the next sync."""
        # the event log is read only from where the last sync left off, not from the start
        scanned = self.settlement.chain.block_number()
        for node in self.settlement.nodes_with_epochs(self.from_block):
            self.kept.setdefault(node, 0)
        self.from_block = scanned  # a block read twice only names a node already known
        new = 0
        for node in self.kept:
            for epoch in range(self.kept.get(node, 0), self.settlement.epoch_count(node)):
                cid = self.settlement.epoch(node, epoch).bundle_cid
                try:
                    held = self.store.local_blocks().has(cid)
                    self.store.get(cid)  # fetched and verified against its CID if missing
                except StoreError as exc:
                    log.warning("epoch %d of node %s: bundle not kept yet: %s", epoch, node, exc)
                    break
                self.kept[node] = epoch + 1
                new += 0 if held else 1
        return new

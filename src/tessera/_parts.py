"""The explicit parts a long-running daemon (the node, the validator) is built from.

`Tessera.node_parts(account)` hands them over; the daemon never sees the facade, so it can be
assembled in a test, a benchmark or another process from parts made any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from tessera._chain.client import Chain
from tessera._chain.deploy import Deployment
from tessera._chain.disputes import DisputesClient
from tessera._chain.governance import PolicyClient
from tessera._chain.registry import RegistryClient
from tessera._chain.settlement import SettlementClient
from tessera._chain.staking import StakingClient
from tessera._home import TesseraHome
from tessera._store.base import BlobStore


@dataclass(frozen=True)
class NodeParts:
    home: TesseraHome  # where the node keeps its databases and locks
    deployment: Deployment
    chain: Chain
    registry: RegistryClient
    settlement: SettlementClient
    policy: PolicyClient
    staking: StakingClient
    store: BlobStore
    node_key: LocalAccount  # signs receipts, posts epochs

    @property
    def address(self) -> str:
        return self.node_key.address


@dataclass(frozen=True)
class ValidatorParts:
    """A validator daemon's parts: a node's (chain clients, store, key, home) and the disputes
    contract's client. `Tessera.validator_parts(account)` hands them over."""

    node: NodeParts
    disputes: DisputesClient

    @property
    def address(self) -> str:
        return self.node.address

    @property
    def journal_path(self) -> Path:
        d = self.node.deployment
        name = f"journal-{d.chain_id}-{d.disputes.lower()}-{self.address.lower()}.sqlite"
        return self.node.home.path / "validator" / name

"""The Tessera home: config, keystores, blob store, index and the local chain's state."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tessera.chain.deploy import Deployment
from tessera.crypto.keys import DEFAULT_SCRYPT_N
from tessera.errors import ConfigError

CONFIG_VERSION = 1
DEFAULT_ANVIL_PORT = 8545


def default_home() -> Path:
    return Path(os.environ.get("TESSERA_HOME") or Path.home() / ".tessera").expanduser()


@dataclass
class HomeConfig:
    chain_kind: str  # "anvil" (managed by tessera), "rpc" (any JSON-RPC URL) or "inprocess"
    chain_url: str
    deployment: Deployment
    default_account: str = "default"
    anvil_port: int = DEFAULT_ANVIL_PORT
    scrypt_n: int = DEFAULT_SCRYPT_N

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CONFIG_VERSION,
            "chain": {
                "kind": self.chain_kind,
                "url": self.chain_url,
                "anvil_port": self.anvil_port,
            },
            "contracts": self.deployment.to_json(),
            "default_account": self.default_account,
            "scrypt_n": self.scrypt_n,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HomeConfig:
        chain = data["chain"]
        return cls(
            chain["kind"],
            chain["url"],
            Deployment.from_json(data["contracts"]),
            data.get("default_account", "default"),
            int(chain.get("anvil_port", DEFAULT_ANVIL_PORT)),
            int(data.get("scrypt_n", DEFAULT_SCRYPT_N)),
        )


class TesseraHome:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_home()

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def keystore_dir(self) -> Path:
        return self.path / "keystore"

    @property
    def store_dir(self) -> Path:
        return self.path / "store"

    @property
    def anvil_dir(self) -> Path:
        return self.path / "chain"

    def node_db_path(self, deployment: Deployment) -> Path:
        # receipts, vouchers and epochs belong to one settlement contract
        name = f"node-{deployment.chain_id}-{deployment.settlement.lower()}.sqlite"
        return self.path / "node" / name

    @property
    def settle_lock_path(self) -> Path:
        # one settler at a time: the running node's and `tessera epoch settle`
        return self.path / "node" / "settle.lock"

    def index_path(self, deployment: Deployment) -> Path:
        # one index per deployment, so a redeploy can never mix two registries' batches
        return self.path / "index" / f"{deployment.chain_id}-{deployment.registry.lower()}.sqlite"

    def exists(self) -> bool:
        return self.config_path.exists()

    def load(self) -> HomeConfig:
        if not self.exists():
            raise ConfigError(
                f"no Tessera home at {self.path}: run `tessera init` (or set TESSERA_HOME)"
            )
        try:
            return HomeConfig.from_json(json.loads(self.config_path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{self.config_path} is damaged ({exc}): fix it or run `tessera init --force`"
            ) from None

    def save(self, config: HomeConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config.to_json(), indent=2) + "\n")
        tmp.replace(self.config_path)

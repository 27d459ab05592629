"""The Tessera home: config, keystores, blob store, index and the local chain's state."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tessera._chain.deploy import Deployment
from tessera._crypto.keys import DEFAULT_SCRYPT_N
from tessera._errors import ConfigError, InputError

CONFIG_VERSION = 1
DEFAULT_ANVIL_PORT = 8545


def check_gateway(url: str) -> str:
    """An IPFS gateway's base URL (http or https, no path), or InputError saying so."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise InputError(
            f"{url!r} is not a gateway URL: pass its base, such as http://127.0.0.1:8080 "
            "(kubo's gateway), without a path"
        )
    return url.rstrip("/")


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
    joined: bool = False  # True: the contracts were deployed by someone else (`--join`)
    gateways: tuple[str, ...] = ()  # IPFS gateways to fetch from besides registered nodes

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
            "joined": self.joined,
            "gateways": list(self.gateways),
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
            bool(data.get("joined", False)),
            tuple(str(url) for url in data.get("gateways", ())),
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

    def node_db_path(self, deployment: Deployment, node: str) -> Path:
        # receipts, vouchers and epochs belong to one node account of one settlement contract
        return self.path / "node" / f"{self.node_db_prefix(deployment)}-{node.lower()}.sqlite"

    def node_db_prefix(self, deployment: Deployment) -> str:
        return f"node-{deployment.chain_id}-{deployment.settlement.lower()}"

    def legacy_node_db_path(self, deployment: Deployment) -> Path:
        """Where homes kept one node database for every account before it was per account."""
        return self.path / "node" / f"{self.node_db_prefix(deployment)}.sqlite"

    def serving_lock_path(self, node: str) -> Path:
        # held by a running node: a second node of the same account on this home is refused
        return self.path / "node" / f"serving-{node.lower()}.lock"

    def settle_lock_path(self, node: str) -> Path:
        # one settler per node account at a time: the running node's and `tessera epoch settle`
        return self.path / "node" / f"settle-{node.lower()}.lock"

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
        self.make_private()  # homes made before it was private become private
        try:
            return HomeConfig.from_json(json.loads(self.config_path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{self.config_path} is damaged ({exc}): fix it or run `tessera init --force`"
            ) from None

    def save(self, config: HomeConfig) -> None:
        self.make_private()
        tmp = self.config_path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        descriptor = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps(config.to_json(), indent=2) + "\n")
        tmp.replace(self.config_path)

    def make_private(self) -> None:
        """The home holds prompts, answers, vouchers and chain state: its owner's alone. A
        folder of mode 0700 closes everything inside it to other users, whatever their modes."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o700)

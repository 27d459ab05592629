"""Independent homes on one chain: each its own keys, store and node, finding the others on chain.

The first home deploys; the others join from its registry's address, as `tessera init --chain
URL --join REGISTRY` does. Nodes run tiny models on loopback ports the OS picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends import free_port
from money_helpers import TSR
from node_helpers import FACTS, LiveNode

from tessera import NodeConfig, Tessera, build_node

STAKE = 1_000 * TSR


@dataclass
class Operator:
    """One operator: a home, and the node it runs (None while stopped)."""

    t: Tessera
    live: LiveNode | None = None

    @property
    def url(self) -> str:
        assert self.live is not None
        return self.live.url

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def deploying_home(path: Path, chain_url: str, **init: object) -> Tessera:
    t = Tessera.init(path, chain=chain_url, password="pw", scrypt_n=2**4, **init)
    t.create_datanet("facts", "CC-BY-4.0")
    source = path.parent / f"{path.name}-facts.jsonl"
    source.write_text("".join(f'{{"text": "{fact}"}}\n' for fact in FACTS))
    t.contribute("facts", [source])
    return t


def joining_home(path: Path, chain_url: str, first: Tessera) -> Tessera:
    """A home that joins `first`'s deployment and holds enough TSR to stake."""
    t = Tessera.init(
        path, chain=chain_url, password="pw", scrypt_n=2**4, join=first.config.deployment.registry
    )
    first.transfer(2 * STAKE, t.address())  # from the treasury, which holds the supply
    return t


def start_operator(t: Tessera, generator, embedder, **config: object) -> Operator:
    """Serve datanet `facts` from `t`'s default account, then stake and register the node."""
    port = free_port()
    options: dict[str, object] = {"payments": False, **config}  # free unless asked
    settings = NodeConfig(datanets=("facts",), port=port, follow_interval_s=0.2, **options)
    node = build_node(t.node_parts(), settings, generator, embedder)
    operator = Operator(t, LiveNode(t, node, port))
    t.register_node(operator.url, STAKE)
    t.peers.refresh()
    return operator

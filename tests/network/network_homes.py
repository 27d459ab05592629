"""Operators of one network on anvil for these tests: each a home of its own (the first
deploys, the others join), a node on a loopback port the OS picks, staked and registered."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from backends import free_port
from gov_helpers import enact
from money_helpers import TSR
from node_helpers import FACTS, LiveNode

from tessera import DEFAULT_GOVERNANCE, NodeConfig, Tessera, build_node, weights_digest

STAKE = 1_000 * TSR  # the default minimum
# governance in seconds, so approving a model on anvil (real time) takes a few seconds
QUICK = replace(DEFAULT_GOVERNANCE, voting_delay=1, voting_period=2, timelock_delay=1)


@dataclass
class Operator:
    t: Tessera
    live: LiveNode | None
    config: NodeConfig
    generator: object
    embedder: object

    @property
    def address(self) -> str:
        return self.t.address()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def start(self) -> None:
        """Serve again on the same port (the registered endpoint)."""
        node = build_node(self.t.node_parts(), self.config, self.generator, self.embedder)
        self.live = LiveNode(self.t, node, self.config.port)


def first_home(path: Path, chain_url: str, **init: object) -> Tessera:
    """Deploys, contributes the facts, and holds the supply."""
    t = Tessera.init(path, chain=chain_url, password="pw", scrypt_n=2**4, governance=QUICK, **init)
    t.create_datanet("facts", "CC-BY-4.0")
    source = path.parent / f"{path.name}-facts.jsonl"
    source.write_text("".join(f'{{"text": "{fact}"}}\n' for fact in FACTS))
    t.contribute("facts", [source])
    return t


def joined_home(path: Path, chain_url: str, first: Tessera) -> Tessera:
    registry = first.config.deployment.registry
    t = Tessera.init(path, chain=chain_url, password="pw", scrypt_n=2**4, join=registry)
    first.transfer(2 * STAKE, t.address())
    return t


def approve(first: Tessera, generator, also_local: bool = False) -> str:
    """Governance approves this model version (id and weights digest); `also_local`: under
    the id `tessera node start --model FOLDER` gives it too."""
    digest = weights_digest(generator.folder)
    ids = [NodeConfig().model_id] + ([f"local/{generator.folder.name}"] if also_local else [])
    actions = [a for i in ids for a in first.gov.actions.approve_model(i, digest)]
    enact(first, actions, "approve")
    return digest


def operate(t: Tessera, generator, embedder, register: bool = True, **config) -> Operator:
    """Serve datanet `facts` from `t`'s default account, paid, and (by default) register it."""
    settings = NodeConfig(
        datanets=("facts",),
        port=free_port(),
        follow_interval_s=0.2,
        settle_check_s=None,
        **config,
    )
    operator = Operator(t, None, settings, generator, embedder)
    operator.start()
    if register:
        t.register_node(operator.url, STAKE)
    return operator


def fund_client(t: Tessera, name: str, nodes: list[str], each: int = 5 * TSR) -> str:
    """A new account of `t` with a funded channel to each node; returns its address."""
    t.new_account(name)
    t.transfer(len(nodes) * each + TSR, name)
    for node in nodes:
        t.deposit(each, node, name)
    return t.address(name)

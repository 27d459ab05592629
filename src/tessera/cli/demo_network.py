"""The demo's network: a second operator joins from the registry's address, both nodes stake
and register, the client asks the network (not a URL) and fails over when a node stops.
Uses the public `Tessera` facade only."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

import tessera
from tessera.cli import render
from tessera.cli.network import show_nodes

TSR = 10**18
STAKE = 1_000 * TSR
# the second operator charges less, so the network's rule picks it first: it answers from
# content it never ingested, fetched from the first operator's node
CHEAP = (5 * 10**11, 2 * 10**12)  # per input token, per output token (the default's half)
DEFAULT_PRICES = (
    tessera.NodeConfig.price_per_input_token,
    tessera.NodeConfig.price_per_output_token,
)


class Fleet:
    """The operators' nodes serving one datanet on loopback; each starts and stops alone."""

    def __init__(self, datanet: str) -> None:
        self.datanet = datanet
        self.homes: dict[str, tessera.Tessera] = {}
        self.accounts: dict[str, str | None] = {}
        self.urls: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        self.prices: dict[str, tuple[int, int]] = {}
        self.nodes: dict[str, tessera.Node] = {}
        self._stacks: dict[str, ExitStack] = {}

    def start(
        self,
        name: str,
        home: tessera.Tessera,
        account: str | None,
        port: int,
        prices: tuple[int, int],
    ) -> str:
        config = tessera.NodeConfig(
            datanets=(self.datanet,),
            port=port,
            settle_check_s=None,
            price_per_input_token=prices[0],
            price_per_output_token=prices[1],
            adapters=("all",),  # every adapter published on the base, loaded on first use
        )
        node = tessera.build_node(home.node_parts(account), config)  # indexes before serving
        self.prices[name] = prices
        return self.add(name, home, account, node)

    def add(self, name: str, home: tessera.Tessera, account: str | None, node: tessera.Node) -> str:
        """Serve a node built elsewhere (the demo's cheater) as one of the fleet."""
        self._stacks[name] = ExitStack()
        self.urls[name] = self._stacks[name].enter_context(tessera.serving(node))
        self.homes[name], self.accounts[name] = home, account
        self.addresses[name] = home.address(account)
        self.nodes[name] = node
        return self.urls[name]

    def name_of(self, address: str) -> str:
        return next(n for n, a in self.addresses.items() if a.lower() == address.lower())

    def stop(self, name: str) -> None:
        self._stacks.pop(name).close()

    def close(self) -> None:
        for name in list(self._stacks):
            self.stop(name)


def join_second_operator(t: tessera.Tessera, out: Console) -> tessera.Tessera:
    """A second operator, with its own home and keys, joins the deployment from the registry's
    address alone; the treasury sends it the TSR it will stake."""
    home = Path(f"{t.home.path}-operator-2")
    second = tessera.Tessera.init(
        home, chain=t.chain, force=True, join=t.config.deployment.registry
    )
    t.transfer(2 * STAKE, second.address())
    out.print(
        f"operator-2 {second.address()} joins from registry {t.config.deployment.registry} "
        f"alone: its own home ({home}) and keys, no contracts deployed, no data ingested"
    )
    return second


def register(fleet: Fleet, name: str, out: Console) -> None:
    """The operator bonds stake and lists its running node: endpoint, models, prices."""
    record = fleet.homes[name].register_node(fleet.urls[name], STAKE, fleet.accounts[name])
    out.print(
        f"{name}: node {record.address} bonds {render.tsr(record.stake)} and registers "
        f"{record.endpoint} (metadata {record.metadata_cid})"
    )


def restart(fleet: Fleet, name: str, port: int, out: Console) -> None:
    """The stopped node comes back on a new port and points its registration there."""
    home, account = fleet.homes[name], fleet.accounts[name]
    url = fleet.start(name, home, account, port, fleet.prices[name])
    record = home.update_node(url, account)
    out.print(f"\n{name}'s node restarts at {url}: `tessera node update` lists {record.endpoint}")


def show_network(t: tessera.Tessera, fleet: Fleet, joined: str, out: Console) -> None:
    show_nodes(t.nodes())
    out.print(
        f"{joined}'s node fetched {fleet.homes[joined].store.fetched} blocks from the network "
        "(manifests, and contributions as one CAR per batch), each checked against its CID, "
        "every signature against the registry's domain"
    )


def fund_channels(t: tessera.Tessera, fleet: Fleet) -> None:
    """The client commits funds to each node's channel: no two nodes are promised the same
    tokens."""
    for address in fleet.addresses.values():
        wallet = t.deposit(5 * TSR, address, "client")
    render.wallet(wallet)


def ask_network(
    t: tessera.Tessera, out: Console, question: str, node: str | None = None
) -> tessera.AskResult:
    """Ask as a client does: no URL; the rule picks and a failure fails over (or ask `node`)."""
    result = t.ask(question, account="client", node=node)
    assert result.receipt is not None
    t.verify_receipt(result.receipt)  # signature, hashes and chain state
    out.print(f"\n[bold]Q:[/bold] {question}\n[bold]A:[/bold] {result.text}")
    for source in result.sources:
        if source["weight"] > 0:
            text = t.content(source["cid"]).decode()
            out.print(f"   {source['weight']:.2f}  {source['contributor']}  {text}")
    for node, why in result.passed_over:
        out.print(f"   passed over {node}: {why}")
    out.print(
        f"   answered by {result.node} (node {result.receipt.node}), paid "
        f"{render.tsr(result.receipt.price)}; receipt verified on chain"
    )
    return result

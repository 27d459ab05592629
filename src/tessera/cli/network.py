"""`tessera nodes` and `tessera node register|update|leave|withdraw-stake`: the network as
operators and clients see it. Parses and renders only; the facade does the work."""

from __future__ import annotations

import click
from rich.table import Table

import tessera
from tessera.cli.common import friendly, open_home
from tessera.cli.render import console

AS_HELP = "The node's account (default: the home's default account)."


def _record(verb: str, r: tessera.NodeRecord) -> None:
    console.print(
        f"node {r.address} {verb}: endpoint {r.endpoint}, stake {tessera.format_tsr(r.stake)} "
        f"TSR, metadata {r.metadata_cid}"
    )


@click.command("register")
@click.option("--endpoint", required=True, help="The URL the node serves on, as clients reach it.")
@click.option("--stake", "amount", required=True, help="TSR to bond, e.g. 100 or 12.5.")
@click.option("--as", "account_", help=AS_HELP)
@click.pass_context
@friendly
def node_register(ctx: click.Context, endpoint: str, amount: str, account_: str | None) -> None:
    """Bond stake and list the running node at ENDPOINT (its models and prices) on chain."""
    t = open_home(ctx, password=True)
    _record("registered", t.register_node(endpoint, tessera.parse_tsr(amount), account_))


@click.command("update")
@click.option("--endpoint", help="A new URL, if the node moved (default: the listed one).")
@click.option("--as", "account_", help=AS_HELP)
@click.pass_context
@friendly
def node_update(ctx: click.Context, endpoint: str | None, account_: str | None) -> None:
    """List what the node serves now (models, prices), at a new endpoint if given."""
    _record("updated", open_home(ctx, password=True).update_node(endpoint, account_))


@click.command("leave")
@click.option("--as", "account_", help=AS_HELP)
@click.pass_context
@friendly
def node_leave(ctx: click.Context, account_: str | None) -> None:
    """Unlist the node; its stake unbonds and can be withdrawn after the unbonding delay."""
    r = open_home(ctx, password=True).leave_network(account_)
    console.print(
        f"node {r.address} left: {tessera.format_tsr(r.unbonding)} TSR unbonding until "
        f"timestamp {r.withdrawable_at} (`tessera node withdraw-stake` after that)"
    )


@click.command("withdraw-stake")
@click.option("--as", "account_", help=AS_HELP)
@click.pass_context
@friendly
def node_withdraw_stake(ctx: click.Context, account_: str | None) -> None:
    """Withdraw stake whose unbonding delay is over."""
    paid = open_home(ctx, password=True).withdraw_stake(account_)
    console.print(f"withdrew {tessera.format_tsr(paid)} TSR of stake")


@click.command("nodes")
@click.pass_context
@friendly
def nodes(ctx: click.Context) -> None:
    """List registered nodes: stake, models (approved by governance or not), prices per 1k
    tokens, and live health and latency."""
    show_nodes(open_home(ctx).nodes())


def show_nodes(listed: list[tessera.NetworkNode]) -> None:
    if not listed:
        console.print("no nodes registered yet: `tessera node register --endpoint URL --stake N`")
        return
    table = Table("address", "endpoint", "stake", "models", "in/out per 1k", "health")
    for n in listed:
        table.add_row(
            n.address,
            n.endpoint,
            f"{tessera.format_tsr(n.stake)}"
            + ("" if n.eligible else " (ineligible)")
            + (f"\nslashed {tessera.format_tsr(n.slashed)}" if n.slashed else ""),
            "\n".join(f"{m.id} (approved: {'yes' if m.approved else 'no'})" for m in n.models)
            or "-",
            f"{tessera.format_tsr(n.input_price * 1000)} / "
            f"{tessera.format_tsr(n.output_price * 1000)}",
            _health(n),
        )
    console.print(table)


def _health(n: tessera.NetworkNode) -> str:
    if not n.active:
        return "left"
    if n.healthy and n.latency_ms is not None:
        return f"ok {n.latency_ms:.0f} ms" + (f"; {n.error}" if n.error else "")
    return f"down: {n.error or 'no answer'}"


NODE_COMMANDS = (node_register, node_update, node_leave, node_withdraw_stake)

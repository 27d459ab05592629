"""Commands that move or account for tokens: escrow, vouchers, epochs, claims, audits."""

from __future__ import annotations

import json
import sys
from typing import IO

import click

import tessera
from tessera.cli import render
from tessera.cli.common import friendly, open_home

AS_OPTION = click.option("--as", "account_", help="Local account to act as (default: default).")
NODE_OPTION = click.option(
    "--node", help="The node whose channel it is: its address (`tessera nodes`) or a local account."
)


def _node(node: str | None) -> str:
    if not node:
        raise tessera.InputError(
            "say whose channel with --node ADDRESS: escrow is committed to one node at a time "
            "(`tessera nodes` lists them)"
        )
    return node


@click.command()
@click.argument("amount")
@NODE_OPTION
@AS_OPTION
@click.pass_context
@friendly
def deposit(ctx: click.Context, amount: str, node: str | None, account_: str | None) -> None:
    """Deposit AMOUNT TSR into your channel to --node, which only that node redeems the
    vouchers you sign it from."""
    units = tessera.parse_tsr(amount)
    render.wallet(open_home(ctx, password=True).deposit(units, _node(node), account_))


@click.command()
@click.argument("amount", required=False)
@click.option("--finish", is_flag=True, help="Pay out a withdrawal whose delay is over.")
@NODE_OPTION
@AS_OPTION
@click.pass_context
@friendly
def withdraw(
    ctx: click.Context, amount: str | None, finish: bool, node: str | None, account_: str | None
) -> None:
    """Start withdrawing AMOUNT TSR from your channel to --node, or --finish after the delay."""
    if finish == (amount is not None):
        raise click.UsageError("give an AMOUNT to start a withdrawal, or --finish to complete one")
    node = _node(node)
    t = open_home(ctx, password=True)
    if finish:
        paid = t.withdraw(node, account_)
        render.console.print(f"withdrew {tessera.format_tsr(paid)} TSR")
    else:
        assert amount is not None
        request = t.request_withdrawal(tessera.parse_tsr(amount), node, account_)
        render.console.print(
            f"withdrawal of {tessera.format_tsr(request.amount)} TSR can be finished from chain "
            f"time {request.available_at} ({render.when(request.available_at)}); the node may "
            f"still redeem vouchers you signed until then: `tessera withdraw --finish --node "
            f"{node}`"
        )
    render.wallet(t.wallet(account_))


@click.command()
@click.argument("account", required=False)
@click.pass_context
@friendly
def wallet(ctx: click.Context, account: str | None) -> None:
    """Show an account's tokens and each escrow channel: node, balance, pending withdrawal."""
    render.wallet(open_home(ctx).wallet(account))


@click.command()
@click.argument("amount")
@click.argument("to")
@AS_OPTION
@click.pass_context
@friendly
def transfer(ctx: click.Context, amount: str, to: str, account_: str | None) -> None:
    """Send AMOUNT TSR to TO (an account name or address)."""
    t = open_home(ctx, password=True)
    t.transfer(tessera.parse_tsr(amount), to, account_)
    render.console.print(f"sent {amount} TSR to {t.address(to)}")


@click.command()
@click.argument("node")
@click.argument("amount")
@AS_OPTION
@click.pass_context
@friendly
def voucher(ctx: click.Context, node: str, amount: str, account_: str | None) -> None:
    """Print a voucher letting NODE (address) take up to AMOUNT TSR in total, for any HTTP
    client: send it as the X-Tessera-Voucher header, and with each request its
    X-Tessera-Authorization (`tessera authorize`)."""
    click.echo(
        open_home(ctx, password=True)
        .sign_voucher(node, tessera.parse_tsr(amount), account_)
        .to_header()
    )


@click.command()
@click.argument("node")
@click.argument("body", type=click.File("rb"))
@AS_OPTION
@click.pass_context
@friendly
def authorize(ctx: click.Context, node: str, body: IO[bytes], account_: str | None) -> None:
    """Print the X-Tessera-Authorization header for one request to NODE (address): your
    signature of BODY, the JSON file (- for stdin) you send exactly as is, with a fresh nonce.
    A paid node answers a request only with its voucher and its authorization."""
    try:
        request = json.loads(body.read())
    except ValueError as exc:
        raise tessera.InputError(f"BODY is not JSON ({exc}): give the request body") from None
    if not isinstance(request, dict):
        raise tessera.InputError("BODY must be a JSON object: the request body you send")
    click.echo(open_home(ctx, password=True).sign_request(node, request, account_).to_header())


@click.group()
def model() -> None:
    """Model versions and their owners (who the royalty is paid to)."""


@model.command("owner")
@click.argument("model_id")
@click.argument("weights_digest")
@click.pass_context
@friendly
def model_owner(ctx: click.Context, model_id: str, weights_digest: str) -> None:
    """Whom MODEL_ID's royalty is paid to at WEIGHTS_DIGEST: the owner governance named when
    it approved that version (`tessera gov propose approve-model ... --owner NAME`)."""
    owner = open_home(ctx).model_owner(model_id, weights_digest)
    render.console.print(
        f"model {model_id} at {weights_digest}: royalty to {owner}"
        if owner
        else f"model {model_id} at {weights_digest} has no approved owner: its royalty goes "
        "to the treasury"
    )


@click.group()
def epoch() -> None:
    """Settlement epochs."""


@epoch.command("settle")
@AS_OPTION
@click.pass_context
@friendly
def epoch_settle(ctx: click.Context, account_: str | None) -> None:
    """Settle this home's node's next epoch now (a running node does it on its own). Exit code
    3 when some receipts cannot be redeemed (they are kept, and listed)."""
    t = open_home(ctx, password=True)
    render.settled(t.settle_epoch(account_))
    status = t.node_status(account_)
    if not status.ok:
        render.uncollectable(status)
        sys.exit(3)


@click.command()
@AS_OPTION
@click.pass_context
@friendly
def claim(ctx: click.Context, account_: str | None) -> None:
    """Claim what nodes owe the account, across epochs, one proof per node."""
    render.claims(open_home(ctx, password=True).claim(account_))


@click.command()
@click.argument("account", required=False)
@click.pass_context
@friendly
def earnings(ctx: click.Context, account: str | None) -> None:
    """Show what ACCOUNT earned per epoch, datanet and model, claimed or pending."""
    t = open_home(ctx)
    render.earnings(t.earnings(account), {d.id: d.name for d in t.datanets()})


@click.group()
def audit() -> None:
    """Re-verify what nodes posted on chain."""


@audit.command("epoch")
@click.argument("number", type=int)
@click.option("--node", help="The node's address (default: the only node that posted).")
@click.pass_context
@friendly
def audit_epoch(ctx: click.Context, number: int, node: str | None) -> None:
    """Fetch epoch NUMBER's bundle, verify every receipt, recompute and compare the root."""
    report = open_home(ctx).audit_epoch(number, node)
    render.audit(report)
    if not report.ok:
        ctx.exit(1)


COMMANDS = [
    deposit,
    withdraw,
    wallet,
    transfer,
    voucher,
    authorize,
    model,
    epoch,
    claim,
    earnings,
    audit,
]

"""`tessera validator start|status` and `tessera challenges`: validators as their operators and
everyone else see them. Parses and renders only; the facade and the daemon do the work."""

from __future__ import annotations

import time

import click
from rich.table import Table

import tessera
from tessera.cli.common import friendly, open_home
from tessera.cli.render import console

AS_HELP = "The validator's account (default: the home's default account)."


@click.group("validator")
def validator() -> None:
    """Re-check sampled answers of every node, challenge cheaters, vote on committees."""


@validator.command("start")
@click.option("--stake", "amount", help="Bond this much more TSR first, e.g. 1000.")
@click.option("--as", "account_", help=AS_HELP)
@click.option("--model", "model_path", help="A local model folder (default: Gemma 3 270M).")
@click.option(
    "--sample-rate",
    default=None,
    type=float,
    help="Share of each epoch re-checked (default: its stake's share of the network's 0.1).",
)
@click.option("--every", "every_s", default=5.0, show_default=True, help="Seconds between turns.")
@click.option("--once", is_flag=True, help="One turn, then exit (for scripts and cron).")
@click.pass_context
@friendly
def validator_start(
    ctx: click.Context,
    amount: str | None,
    account_: str | None,
    model_path: str | None,
    sample_rate: float | None,
    every_s: float,
    once: bool,
) -> None:
    """Stake (with --stake), then re-check every posted epoch's sample until interrupted."""
    t = open_home(ctx, password=True)
    if amount is not None:
        staked = t.stake_validator(tessera.parse_tsr(amount), account_)
        console.print(f"validator {t.address(account_)} stakes {tessera.format_tsr(staked)} TSR")
    config = tessera.ValidatorConfig(model_path=model_path, tick_s=every_s)
    if sample_rate is not None:
        if not 0 < sample_rate <= 1:
            raise tessera.InputError("--sample-rate is a share of each epoch: above 0, at most 1")
        config = tessera.ValidatorConfig(model_path, sample_rate, every_s)
    runtime = tessera.build_validator(t.validator_parts(account_), config)
    console.print(f"validator {runtime.validator.address} watching; Ctrl-C stops it")
    try:
        while True:
            report = runtime.validator.tick()
            _print_turn(report)
            if once:
                break
            time.sleep(every_s)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


def _print_turn(report: object) -> None:
    opened = getattr(report, "challenges_opened", [])
    line = (
        f"checked {getattr(report, 'epochs_checked', 0)} epoch(s), "
        f"{getattr(report, 'receipts_checked', 0)} receipt(s); challenges opened: "
        f"{', '.join(str(c) for c in opened) or 'none'}"
    )
    if getattr(report, "epochs_checked", 0) or opened or getattr(report, "votes", []):
        console.print(line)
    for problem in getattr(report, "problems", []):
        console.print(f"[yellow]could not: {problem}[/yellow]")


@validator.command("status")
@click.option("--as", "account_", help=AS_HELP)
@click.pass_context
@friendly
def validator_status(ctx: click.Context, account_: str | None) -> None:
    """Stake, rewards, the epochs checked, challenges opened, votes and problems."""
    s = tessera.validator_status(open_home(ctx).validator_parts(account_))
    console.print(
        f"validator {s.address}: stake {tessera.format_tsr(s.stake)} TSR "
        f"({'active' if s.active else 'not active'}), rewards {tessera.format_tsr(s.rewards)} TSR"
    )
    table = Table("node", "epoch", "sampled", "faults", "inconclusive", "note")
    for c in s.checked:
        table.add_row(
            c.node, str(c.epoch), str(c.sampled), str(c.faults), str(c.inconclusive), c.note
        )
    console.print(table)
    for o in s.opened:
        console.print(
            f"opened challenge {o['challenge']}: node {o['node']} epoch {o['epoch']} "
            f"receipt {o['receipt']} ({o['kind']}): {o['detail']}"
        )
    for v in s.votes:
        state = "revealed" if v.revealed else "committed" if v.committed else "planned"
        console.print(
            f"vote on challenge {v.challenge}: {'guilty' if v.guilty else 'honest'} ({state})"
        )
    for p in s.problems:
        console.print(
            f"[yellow]could not: node {p['node']} epoch {p['epoch']}: {p['text']}[/yellow]"
        )


@click.command("challenges")
@click.option("--node", help="Only the challenges against this node's address.")
@click.pass_context
@friendly
def challenges(ctx: click.Context, node: str | None) -> None:
    """Every challenge on chain: who challenged which receipt, and how it ended."""
    found = open_home(ctx).challenges(node)
    show_challenges(found)


def show_challenges(found: list[tessera.Challenge]) -> None:
    if not found:
        console.print("no challenges")
        return
    table = Table("id", "node", "epoch", "receipt", "kind", "challenger", "status", "slashed")
    for c in found:
        table.add_row(
            str(c.id),
            c.node,
            str(c.epoch),
            str(c.index),
            c.kind_name,
            c.challenger,
            c.status_name,
            tessera.format_tsr(c.slashed),
        )
    console.print(table)

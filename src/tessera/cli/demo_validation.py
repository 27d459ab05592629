"""The demo's validators: two stake, a third operator's node lies about its answers, the
validators re-check every posted epoch, challenge the lie, vote on it, and the liar is slashed
while the honest nodes are checked and paid. Uses the public `tessera` surface only."""

from __future__ import annotations

from rich.console import Console

import tessera
from tessera.cli import render
from tessera.cli.demo_network import STAKE, Fleet, register
from tessera.cli.network import show_nodes
from tessera.cli.validator import show_challenges

TSR = 10**18
VALIDATOR_STAKE = 1_000 * TSR
VALIDATORS = ("validator-1", "validator-2")
CHEAT = "changed-answer"  # the node changes each answer after generating it, and re-signs


class Validators:
    """The demo's validators in this process, sharing one loaded model."""

    def __init__(self, t: tessera.Tessera, out: Console) -> None:
        self.runtimes: list[tessera.ValidatorRuntime] = []
        config = tessera.ValidatorConfig(sample_rate=1.0)  # the demo checks every answer
        generator = None
        for name in VALIDATORS:
            if name not in {a.name for a in t.accounts()}:
                t.new_account(name)
            t.transfer(VALIDATOR_STAKE + 200 * TSR, name)  # stake, and bonds for challenges
            staked = t.stake_validator(VALIDATOR_STAKE, name)
            out.print(f"{name} {t.address(name)} stakes {render.tsr(staked)} as a validator")
            runtime = tessera.build_validator(t.validator_parts(name), config, generator)
            generator = runtime.generator
            self.runtimes.append(runtime)

    def turn(self, out: Console) -> None:
        for runtime in self.runtimes:
            report = runtime.validator.tick()
            for text in report.problems:
                out.print(f"   {runtime.validator.address[:10]}... could not: {text}")
            if report.epochs_checked or report.challenges_opened or report.votes:
                out.print(
                    f"   {runtime.validator.address[:10]}...: {report.epochs_checked} epoch(s) "
                    f"and {report.receipts_checked} receipt(s) re-checked; challenges opened "
                    f"{report.challenges_opened or 'none'}; votes {report.votes or 'none'}; "
                    f"resolved {report.resolved or 'none'}"
                )

    def close(self) -> None:
        for runtime in self.runtimes:
            runtime.close()


def start_cheater(t: tessera.Tessera, fleet: Fleet, port: int, out: Console) -> str:
    """A third operator runs a node that changes its answers after generating them."""
    name = "cheater"
    if name not in {a.name for a in t.accounts()}:
        t.new_account(name)
    t.transfer(STAKE, name)
    config = tessera.NodeConfig(datanets=(fleet.datanet,), port=port, settle_check_s=None)
    node = tessera.build_byzantine_node(t.node_parts(name), config, CHEAT)
    fleet.add(name, t, name, node)
    register(fleet, name, out)
    out.print(f"{name}'s node lies: it {CHEAT.replace('-', 's an ')} after generating it")
    return fleet.addresses[name]


def catch_the_cheater(
    t: tessera.Tessera, fleet: Fleet, validators: Validators, cheater: str, out: Console
) -> None:
    """Validators re-check every epoch; the lie is challenged, voted on and slashed."""
    t.chain.wait_until(t.chain.now() + 1)  # a block after the posts: it fixes their samples
    validators.turn(out)  # re-check each posted epoch; the lie is challenged
    opened = [c for c in t.challenges(cheater) if c.status_name == "open"]
    if opened:
        validators.turn(out)  # the committee re-checks the challenged receipt and commits
        ends = max(c.reveal_ends for c in opened)
        t.chain.wait_until(max(c.commit_ends for c in opened))
        validators.turn(out)  # reveal
        t.chain.wait_until(ends)
        validators.turn(out)  # resolve
    show_challenges(t.challenges())
    show_nodes(t.nodes())
    refunds = t.refund_voided(cheater)
    if refunds:
        out.print(
            f"the cheater's voided epoch is refunded: {render.tsr(sum(refunds.values()))} back "
            "to the client who paid it"
        )

"""`tessera gov ...` on tessera's managed anvil, in real time: a fee split, a training weight and
a content block pass through the whole lifecycle; mistakes end in one sentence and change
nothing."""

from __future__ import annotations

import re
import time

import pytest
from backends import free_port
from cli_helpers import Cli

ZERO = "0x" + "00" * 20
SPLIT = ("propose", "fee-split", "3000", "2000", "4000", "500")  # a validators' bps follows


@pytest.fixture(scope="module")
def gov_cli(anvil_binary, cli_runner, tmp_path_factory):
    runner = cli_runner(tmp_path_factory.mktemp("gov") / "home", free_port())
    runner.ok(
        "init", "--port", str(runner.port),
        "--voting-delay", "3", "--voting-period", "8", "--timelock-delay", "4",
    )  # fmt: skip
    runner.ok("account", "new", "alice")
    yield runner
    runner.run("chain", "stop")


def _proposal_id(out: str) -> str:
    return Cli.proposal_id(out)


def _wait_for(cli, proposal: str, state: str, timeout: float = 30) -> None:
    cli.wait_for(proposal, state, timeout)


def test_a_fee_split_passes_through_propose_vote_queue_execute(gov_cli):
    pool = re.search(r"validators (0x[0-9a-fA-F]{40})", gov_cli.ok("gov", "status"))
    assert pool and int(pool[1], 16) != 0  # the disputes contract, kept when not named
    args = ("fee-split", "2500", "2500", "4000", "500", "500")
    out = gov_cli.ok("gov", "propose", *args, "-m", "more")
    proposal = _proposal_id(out)
    assert "settlement.set_fee_split" in out and "node_bps=2500" in out
    assert f"validators_bps=500, validators={pool[1]}" in " ".join(out.split())  # unwrapped
    assert "voting has not started" in gov_cli.fails("gov", "vote", proposal, "for")

    _wait_for(gov_cli, proposal, "ACTIVE")
    voted = gov_cli.ok("gov", "vote", proposal, "for", "--reason", "fairer")
    assert "with 1000000000 TSR" in voted
    assert "vote already cast" in gov_cli.fails("gov", "vote", proposal, "against")
    assert "proposal not successful" in gov_cli.fails("gov", "queue", proposal)

    _wait_for(gov_cli, proposal, "SUCCEEDED")
    assert "can run from" in gov_cli.ok("gov", "queue", proposal)
    assert "timelock delay not over" in gov_cli.fails("gov", "execute", proposal)
    executed = gov_cli.ok("gov", "execute", proposal, "--wait")
    split = "node 2500  model owner 2500  contributors 4000  treasury 500  validators 500"
    assert split in executed
    assert "already executed" in gov_cli.fails("gov", "execute", proposal)
    listing = gov_cli.ok("gov", "status")
    assert re.search(rf"{proposal}\s+│?\s*executed", listing), listing


def test_the_training_weight_is_shown_proposed_and_changed(gov_cli):
    shown = "training      weight 10000 bps (a nat the adapter gave counts 1x one the context"
    assert shown in gov_cli.ok("gov", "status")
    proposal = gov_cli.enact("training-weight", "25000", "-m", "count adapters more")
    change = "change: policy.set_training_weight(weight_bps=25000)"
    assert change in gov_cli.ok("gov", "status", proposal)
    now = gov_cli.ok("gov", "status")
    assert "weight 25000 bps (a nat the adapter gave counts 2.5x" in now, now
    assert re.search(r"context gave\)  10000 bps before \d{4}-", now), now


def test_a_block_defeated_by_a_vote_against_never_takes_effect(gov_cli):
    # a description is anyone's text: shown as written, never read as terminal markup
    out = gov_cli.ok("gov", "propose", "block", "bafk-one", "-m", "block [/b] it [bold]now")
    proposal = _proposal_id(out)
    assert "block [/b] it [bold]now" in gov_cli.ok("gov", "status", proposal)
    assert "block [/b] it [bold]now" in gov_cli.ok("gov", "status")
    _wait_for(gov_cli, proposal, "ACTIVE")
    gov_cli.ok("gov", "vote", proposal, "against")
    _wait_for(gov_cli, proposal, "DEFEATED")
    assert "not more for than against" in gov_cli.ok("gov", "status", proposal)
    assert "proposal not successful" in gov_cli.fails("gov", "queue", proposal)
    assert "blocked       0 contribution(s)" in gov_cli.ok("gov", "status")


def test_delegation_and_cancel_by_the_proposer_only(gov_cli):
    gov_cli.ok("transfer", "2000", "alice")
    assert "now has 2000 TSR of votes" in gov_cli.ok("gov", "delegate", "--as", "alice")
    time.sleep(1.1)  # proposing counts the votes delegated before this second
    out = gov_cli.ok("gov", "propose", "block", "bafk-two", "-m", "x", "--as", "alice")
    proposal = _proposal_id(out)
    assert "only the proposer can cancel" in gov_cli.fails("gov", "cancel", proposal)
    assert "CANCELED" in gov_cli.ok("gov", "cancel", proposal, "--as", "alice")
    assert "voting is closed" in gov_cli.fails("gov", "vote", proposal, "for")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("propose", "fee-split", "1", "2", "3", "4", "-m", "x"), "add up to 10,000"),
        ((*SPLIT, "600", "-m", "x"), "add up to 10,000"),
        ((*SPLIT, "500", "--validators", ZERO, "-m", "x"), "not the zero address"),
        (("propose", "approve-model", "m", "0x12", "-m", "x"), "not a weights digest"),
        (("propose", "block-datanet", "nope", "-m", "x"), "no datanet named 'nope'"),
        (("propose", "settings", "--quorum-bps", "400", "-m", "x"), "nothing to propose"),
        (("propose", "settings", "--quorum-bps", "6000", "-m", "x"), "give 0 to 5,000"),
        (("propose", "periods", "--epoch-length", "3600", "-m", "x"), "ones in force"),
        (("propose", "unblock", "bafk-never", "-m", "x"), "not blocked: bafk-never"),
        (("propose", "training-weight", "100001", "-m", "x"), "between 0 and 100,000 bps"),
        (("propose", "block", "c", "-m", "x", "--as", "ghost"), "no account 'ghost'"),
        (("vote", "99", "for"), "unknown proposal"),
        (("status", "99"), "no proposal 99"),
    ],
)
def test_mistakes_end_in_one_sentence(gov_cli, args, message):
    assert message in gov_cli.fails("gov", *args)


def test_a_blocked_contribution_is_flagged_when_fetched(gov_cli, tmp_path):
    source = tmp_path / "fact.txt"
    source.write_text("The Ulora Brewery was founded by Radul Thothosa.\n")
    gov_cli.ok("datanet", "create", "facts", "--license", "CC0")
    gov_cli.ok("contribute", "facts", str(source))
    cid = re.findall(r"bafk\w+", gov_cli.ok("datanet", "show", "facts", "--cids"))[-1]
    proposal = _proposal_id(gov_cli.ok("gov", "propose", "block", cid, "-m", "withdrawn"))
    _wait_for(gov_cli, proposal, "ACTIVE")
    gov_cli.ok("gov", "vote", proposal, "for")
    _wait_for(gov_cli, proposal, "SUCCEEDED")
    gov_cli.ok("gov", "queue", proposal)
    assert "blocked       1 contribution(s)" in gov_cli.ok("gov", "execute", proposal, "--wait")
    fetched = gov_cli.run("contribution", "get", cid)
    assert fetched.returncode == 0 and "Radul Thothosa" in fetched.stdout
    assert f"note: {cid} is blocked by the network's content policy" in fetched.stderr

"""`tessera gov ...`: delegate, propose, vote, queue, execute, cancel, status."""

from __future__ import annotations

import click

import tessera
from tessera.cli import gov_view
from tessera.cli.common import friendly, open_home
from tessera.cli.money import AS_OPTION

DESCRIPTION = click.option(
    "-m", "--description", required=True, help="What the proposal does and why."
)


@click.group()
def gov() -> None:
    """Token holders' governance: fee split, periods, approved models, content policy,
    training weight."""


@gov.command()
@click.argument("to", required=False)
@AS_OPTION
@click.pass_context
@friendly
def delegate(ctx: click.Context, to: str | None, account_: str | None) -> None:
    """Give your voting power to TO (an account or address; default: yourself). Balances
    vote only once delegated, and only on proposals whose snapshot comes after."""
    t = open_home(ctx, password=True)
    delegatee = t.gov.delegate(to, account_)
    votes, _ = t.gov.voting_power(delegatee)
    gov_view.console.print(f"{t.address(account_)} delegates to {delegatee}")
    gov_view.console.print(f"{delegatee} now has {gov_view.tsr(votes)} of votes")


@gov.group()
def propose() -> None:
    """Propose a change; prints the proposal's id."""


def _propose(
    t: tessera.Tessera, actions: list[tessera.Action], description: str, account: str | None
) -> None:
    proposal = t.gov.propose(actions, description, account)
    gov_view.proposed(t.gov.status(proposal))


def _submit(
    ctx: click.Context, build: str, description: str, account: str | None, *args: object
) -> None:
    t = open_home(ctx, password=True)
    _propose(t, getattr(t.gov.actions, build)(*args), description, account)


@propose.command("fee-split")
@click.argument("node_bps", type=int)
@click.argument("owner_bps", type=int)
@click.argument("contributors_bps", type=int)
@click.argument("treasury_bps", type=int)
@click.argument("validators_bps", type=int, default=0)
@click.option("--treasury", help="The treasury's address (default: the one in force).")
@click.option(
    "--validators", help="The validators' pool address (default: the one in force, disputes)."
)
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_fee_split(
    ctx: click.Context,
    node_bps: int,
    owner_bps: int,
    contributors_bps: int,
    treasury_bps: int,
    validators_bps: int,
    treasury: str | None,
    validators: str | None,
    description: str,
    account_: str | None,
) -> None:
    """Split each answer's price NODE/OWNER/CONTRIBUTORS/TREASURY[/VALIDATORS] (basis points,
    sum 10000; VALIDATORS defaults to 0)."""
    t = open_home(ctx, password=True)
    actions = t.gov.actions.fee_split_change(
        node_bps,
        owner_bps,
        contributors_bps,
        treasury_bps,
        validators_bps,
        t.address(treasury) if treasury else None,
        t.address(validators) if validators else None,
    )
    _propose(t, actions, description, account_)


@propose.command("periods")
@click.option("--epoch-length", type=int, help="Seconds between a node's epochs.")
@click.option("--challenge-period", type=int, help="Seconds before an epoch's claims open.")
@click.option("--withdrawal-delay", type=int, help="Seconds a withdrawal waits (> epoch).")
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_periods(
    ctx: click.Context,
    epoch_length: int | None,
    challenge_period: int | None,
    withdrawal_delay: int | None,
    description: str,
    account_: str | None,
) -> None:
    """Change the settlement's periods; those not given stay as they are."""
    _submit(
        ctx, "periods_change", description, account_,
        epoch_length, challenge_period, withdrawal_delay,
    )  # fmt: skip


@propose.command("staking")
@click.option("--min-stake", help="TSR a node must keep bonded to be chosen.")
@click.option("--unbonding-delay", type=int, help="Seconds unbonding stake waits (at least).")
@click.option("--slasher", help="Account name or address that may slash; `none` for nobody.")
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_staking(
    ctx: click.Context,
    min_stake: str | None,
    unbonding_delay: int | None,
    slasher: str | None,
    description: str,
    account_: str | None,
) -> None:
    """Change the staking parameters; those not given stay as they are."""
    if min_stake is None and unbonding_delay is None and slasher is None:
        raise tessera.InputError("give --min-stake, --unbonding-delay or --slasher to change")
    t = open_home(ctx, password=True)
    actions = t.gov.actions.staking_change(
        None if min_stake is None else tessera.parse_tsr(min_stake),
        unbonding_delay,
        None if slasher is None else _slasher(t, slasher),
    )
    _propose(t, actions, description, account_)


def _slasher(t: tessera.Tessera, name: str) -> str:
    nobody = name.strip().lower() == "none"
    return "0x" + "00" * 20 if nobody else t.address(name)


def _pair_command(name: str, build: str, summary: str) -> click.Command:
    @click.argument("model_id")
    @click.argument("weights_digest")
    @DESCRIPTION
    @AS_OPTION
    @click.pass_context
    @friendly
    def command(
        ctx: click.Context,
        model_id: str,
        weights_digest: str,
        description: str,
        account_: str | None,
    ) -> None:
        _submit(ctx, build, description, account_, model_id, weights_digest)

    command.__doc__ = summary
    return propose.command(name)(command)


def _cids_command(name: str, build: str, summary: str) -> click.Command:
    @click.argument("cids", nargs=-1, required=True)
    @DESCRIPTION
    @AS_OPTION
    @click.pass_context
    @friendly
    def command(
        ctx: click.Context, cids: tuple[str, ...], description: str, account_: str | None
    ) -> None:
        _submit(ctx, build, description, account_, list(cids))

    command.__doc__ = summary
    return propose.command(name)(command)


def _datanet_command(name: str, build: str, summary: str) -> click.Command:
    @click.argument("datanet")
    @DESCRIPTION
    @AS_OPTION
    @click.pass_context
    @friendly
    def command(ctx: click.Context, datanet: str, description: str, account_: str | None) -> None:
        _submit(ctx, build, description, account_, datanet)

    command.__doc__ = summary
    return propose.command(name)(command)


@propose.command("approve-model")
@click.argument("model_id")
@click.argument("weights_digest")
@click.option(
    "--owner",
    help="Account name or address paid the model's royalty (default: none, the treasury).",
)
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_approve_model(
    ctx: click.Context,
    model_id: str,
    weights_digest: str,
    owner: str | None,
    description: str,
    account_: str | None,
) -> None:
    """Approve MODEL_ID with WEIGHTS_DIGEST (the `weights_digest` a node shows in /v1/models)
    and name whom its royalty is paid to."""
    t = open_home(ctx, password=True)
    paid = None if owner is None else owner if owner.startswith("0x") else t.address(owner)
    _propose(t, t.gov.actions.approve_model(model_id, weights_digest, paid), description, account_)


_pair_command("revoke-model", "revoke_model", "Withdraw a model version's approval.")
_cids_command("block", "block_content", "Block contributions by CID: nodes stop using them.")
_cids_command("unblock", "unblock_content", "Lift the block on contributions.")
_datanet_command("block-datanet", "block_datanet", "Block every contribution of DATANET.")
_datanet_command("unblock-datanet", "unblock_datanet", "Lift the block on DATANET.")


@propose.command("training-weight")
@click.argument("weight_bps", type=int)
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_training_weight(
    ctx: click.Context, weight_bps: int, description: str, account_: str | None
) -> None:
    """Count a nat of gain from an adapter's training as WEIGHT_BPS/10000 of one from the
    prompt's context when an answer's contributors' pool is divided (10000: equally; 0 to
    100000)."""
    _submit(ctx, "training_weight", description, account_, weight_bps)


@propose.command("settings")
@click.option("--voting-delay", type=int, help="Seconds from proposal to snapshot.")
@click.option("--voting-period", type=int, help="Seconds of voting.")
@click.option("--timelock-delay", type=int, help="Seconds from queue to execution.")
@click.option("--grace-period", type=int, help="Seconds a queued proposal stays runnable.")
@click.option("--threshold", help="TSR of votes a proposer needs.")
@click.option("--quorum-bps", type=int, help="For + abstain votes needed, bps of supply.")
@DESCRIPTION
@AS_OPTION
@click.pass_context
@friendly
def propose_settings(
    ctx: click.Context,
    voting_delay: int | None,
    voting_period: int | None,
    timelock_delay: int | None,
    grace_period: int | None,
    threshold: str | None,
    quorum_bps: int | None,
    description: str,
    account_: str | None,
) -> None:
    """Change governance's own settings; those not given stay as they are."""
    _submit(
        ctx, "settings_change", description, account_,
        voting_delay, voting_period, timelock_delay, grace_period,
        tessera.parse_tsr(threshold, allow_zero=True) if threshold else None, quorum_bps,
    )  # fmt: skip


@gov.command()
@click.argument("proposal", type=int)
@click.argument("support", type=click.Choice(["for", "against", "abstain"]))
@click.option("--reason", default="", help="Why, recorded on chain with the vote.")
@AS_OPTION
@click.pass_context
@friendly
def vote(
    ctx: click.Context, proposal: int, support: str, reason: str, account_: str | None
) -> None:
    """Vote on PROPOSAL with your voting power at its snapshot."""
    t = open_home(ctx, password=True)
    weight = t.gov.vote(proposal, support, reason, account_)
    gov_view.console.print(f"voted {support} on proposal {proposal} with {gov_view.tsr(weight)}")
    gov_view.status(t.gov.status(proposal))


@gov.command()
@click.argument("proposal", type=int)
@AS_OPTION
@click.pass_context
@friendly
def queue(ctx: click.Context, proposal: int, account_: str | None) -> None:
    """Queue a succeeded PROPOSAL in the timelock."""
    t = open_home(ctx, password=True)
    eta = t.gov.queue(proposal, account_)
    gov_view.console.print(
        f"proposal {proposal} queued: it can run from {gov_view.when(eta)} "
        f"(`tessera gov execute {proposal}`)"
    )


@gov.command()
@click.argument("proposal", type=int)
@click.option("--wait", is_flag=True, help="Wait for the timelock delay, then run it.")
@AS_OPTION
@click.pass_context
@friendly
def execute(ctx: click.Context, proposal: int, wait: bool, account_: str | None) -> None:
    """Run a queued PROPOSAL once its timelock delay is over (anyone may)."""
    t = open_home(ctx, password=True)
    t.gov.execute(proposal, account_, wait=wait)
    gov_view.console.print(f"proposal {proposal} executed")
    gov_view.parameters(t.gov.parameters())


@gov.command()
@click.argument("proposal", type=int)
@AS_OPTION
@click.pass_context
@friendly
def cancel(ctx: click.Context, proposal: int, account_: str | None) -> None:
    """Cancel PROPOSAL before it runs (its proposer only)."""
    t = open_home(ctx, password=True)
    t.gov.cancel(proposal, account_)
    gov_view.status(t.gov.status(proposal))


@gov.command()
@click.argument("proposal", type=int, required=False)
@click.pass_context
@friendly
def status(ctx: click.Context, proposal: int | None) -> None:
    """Show PROPOSAL, or the parameters in force and every proposal."""
    gov_ = open_home(ctx).gov
    if proposal is not None:
        gov_view.status(gov_.status(proposal))
        return
    gov_view.parameters(gov_.parameters())
    gov_view.proposal_list(gov_.proposals())

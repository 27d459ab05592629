"""Governance on the terminal: proposals, their votes and clocks, the parameters in force."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

import tessera
from tessera.cli.render import console, tsr, when

__all__ = ["console", "parameters", "proposal_list", "proposed", "status", "tsr", "when"]


def proposed(s: tessera.ProposalStatus) -> None:
    # descriptions and calls are anyone's text on chain: never read them as markup
    console.print(f"proposal {s.id} created: {escape(s.record.description)}")
    for change in s.changes:
        console.print(f"  {escape(change)}")
    console.print(
        f"voting opens after {when(s.record.snapshot)} (the snapshot: votes count as delegated "
        f"then) and closes at {when(s.record.deadline)}: `tessera gov vote {s.id} for`"
    )


def _next_step(s: tessera.ProposalStatus) -> str:
    r = s.record
    match s.state:
        case tessera.ProposalState.PENDING:
            return f"voting opens after {when(r.snapshot)}"
        case tessera.ProposalState.ACTIVE:
            return f"voting closes at {when(r.deadline)}: `tessera gov vote {s.id} for|against`"
        case tessera.ProposalState.SUCCEEDED:
            return f"passed: `tessera gov queue {s.id}`"
        case tessera.ProposalState.QUEUED if s.now < r.eta:
            return f"runs from {when(r.eta)}: `tessera gov execute {s.id} --wait`"
        case tessera.ProposalState.QUEUED:
            return f"ready until {when(r.expires_at)}: `tessera gov execute {s.id}`"
        case tessera.ProposalState.DEFEATED:
            reasons = []
            if r.for_votes + r.abstain_votes < (r.quorum or 0):
                reasons.append("for and abstain votes below quorum")
            if r.for_votes <= r.against_votes:
                reasons.append("not more for than against")
            return "defeated: " + ", ".join(reasons)
        case _:
            return s.state.label


def status(s: tessera.ProposalStatus) -> None:
    r = s.record
    console.print(f"proposal {s.id}: {s.state.label.upper()}  by {r.proposer}")
    console.print(f"  {escape(r.description)}")
    for change in s.changes:
        console.print(f"  change: {escape(change)}")
    quorum = tsr(r.quorum) if r.quorum is not None else f"{r.quorum_bps / 100:g}% of supply"
    console.print(
        f"  for {tsr(r.for_votes)}  against {tsr(r.against_votes)}  "
        f"abstain {tsr(r.abstain_votes)}  quorum {quorum}"
    )
    console.print(f"  snapshot {when(r.snapshot)}  voting ends {when(r.deadline)}")
    if r.eta:
        console.print(f"  eta {when(r.eta)}  expires {when(r.expires_at)}")
    console.print(f"  next: {_next_step(s)}")


def proposal_list(statuses: list[tessera.ProposalStatus]) -> None:
    if not statuses:
        console.print("no proposals yet: `tessera gov propose --help`")
        return
    table = Table("id", "state", "for", "against", "abstain", "description")
    for s in statuses:
        r = s.record
        table.add_row(
            str(s.id),
            s.state.label,
            tsr(r.for_votes),
            tsr(r.against_votes),
            tsr(r.abstain_votes),
            escape(r.description[:60]),
        )
    console.print(table)


def parameters(p: tessera.NetworkParameters) -> None:
    f, per, g, pol, st = p.fee_split, p.periods, p.settings, p.policy, p.staking
    console.print(
        f"fee split     node {f.node_bps}  model owner {f.owner_bps}  contributors "
        f"{f.contributors_bps}  treasury {f.treasury_bps}  validators {f.validators_bps} (bps)"
    )
    console.print(f"paid to       treasury {f.treasury}  validators {f.validators}")
    console.print(
        f"periods       epoch {per.epoch_length} s  challenge {per.challenge_period} s  "
        f"withdrawal delay {per.withdrawal_delay} s"
    )
    console.print(
        f"governance    voting delay {g.voting_delay} s  voting period {g.voting_period} s  "
        f"timelock {g.timelock_delay} s  grace {g.grace_period} s  threshold "
        f"{tsr(g.proposal_threshold)}  quorum {g.quorum_bps / 100:g}%"
    )
    slasher = "none (nobody can slash)" if int(st.slasher, 16) == 0 else st.slasher
    console.print(
        f"staking       min stake {tsr(st.min_stake)}  unbonding delay {st.unbonding_delay} s "
        f"(at least epoch + challenge + 1 s)  slasher {slasher}"
    )
    models = (
        ", ".join(
            f"{m.model_id} ({m.weights_digest[:10]}…)"
            for m in sorted(pol.approved_models, key=lambda m: m.model_id)
        )
        or "none"
    )
    console.print(f"approved      {escape(models)}")
    w = pol.training_weight_bps
    changed = (
        f"  {pol.previous_training_weight_bps} bps before {when(pol.training_weight_since)}"
        if pol.training_weight_since
        else ""
    )
    console.print(
        f"training      weight {w} bps (a nat the adapter gave counts {w / 10_000:g}x one the "
        f"context gave){changed}"
    )
    blocked = sorted(pol.blocked_cids)
    datanets = ", ".join(f"#{d}" for d in sorted(pol.blocked_datanets)) or "none"
    console.print(f"blocked       {len(blocked)} contribution(s), datanets: {datanets}")
    for cid in blocked:
        console.print(f"  {escape(cid)}")

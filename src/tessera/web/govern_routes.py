"""The token holder's pages: proposals and their votes, the parameters in force, and what a
holder does with an unlocked account: delegate, propose, vote, queue, execute, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import tessera
from tessera.web.forms import checked_form, required, signing_home
from tessera.web.paging import Page, page_number, paginate
from tessera.web.proposal_forms import builder
from tessera.web.proposal_words import datanet_ids, in_words
from tessera.web.rendering import home, page_size, redirect, render, session_of

router = APIRouter()

BAR_WIDTH = 100  # a vote bar's full length, in its SVG's units
CANCELLABLE = {  # by its proposer; an expired one by anyone
    tessera.ProposalState.PENDING,
    tessera.ProposalState.ACTIVE,
    tessera.ProposalState.SUCCEEDED,
    tessera.ProposalState.QUEUED,
}


@router.get("/proposals", response_class=HTMLResponse)
async def proposals(request: Request, page: str | None = None) -> HTMLResponse:
    number, size = page_number(page), page_size(request)

    def read(t: tessera.Tessera) -> Page[tessera.ProposalStatus]:
        # newest first, and only this page's proposals read from the chain
        ids = paginate(range(t.gov.governor.count(), 0, -1), number, size)
        statuses = [t.gov.status(i) for i in ids.items]
        return Page(statuses, ids.number, ids.pages, ids.total, ids.first)

    return render(request, "proposals.html", title="Proposals", page=await home(request, read))


@router.get("/proposals/new", response_class=HTMLResponse)
async def new_proposal(request: Request) -> HTMLResponse:
    who = session_of(request).address

    def read(t: tessera.Tessera) -> dict[str, Any]:
        votes, through = t.gov.voting_power(who) if who else (0, "0x0")
        # the zero address: the account's tokens vote for nobody until it delegates
        return {"votes": votes, "through": through if int(through, 16) else None,
                "params": t.gov.parameters(), "datanets": t.datanets()}  # fmt: skip

    # a wallet delegates by signature where someone pays the gas: see delegation_routes.py
    relaying = who is not None or request.app.state.config.relayer is not None
    found = await home(request, read)
    return render(request, "proposal_new.html", title="New proposal", relaying=relaying, **found)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
async def proposal(request: Request, proposal_id: str) -> HTMLResponse:
    number, who = _proposal_number(proposal_id), session_of(request).address

    def read(t: tessera.Tessera) -> dict[str, Any]:
        if not 1 <= number <= t.gov.governor.count():
            raise tessera.NotFoundError(f"there is no proposal {number}: /proposals lists them")
        status = t.gov.status(number)
        names = {i: t.registry.datanet(i).name for i in datanet_ids(status.calls)}
        words = [in_words(call, names) for call in status.calls]
        return {"s": status, "changes": list(zip(words, status.changes, strict=True)),
                "created": _created(t, number),
                "voted": who is not None and t.gov.has_voted(number, who)}  # fmt: skip

    found = await home(request, read)
    record = found["s"].record
    return render(
        request, "proposal.html", title=f"Proposal {number}", bars=_bars(found["s"]),
        own=who is not None and who.lower() == record.proposer.lower(),
        cancellable=record.state in CANCELLABLE, **found,
    )  # fmt: skip


@router.get("/parameters", response_class=HTMLResponse)
async def parameters(request: Request) -> HTMLResponse:
    def read(t: tessera.Tessera) -> dict[str, Any]:
        return {"p": t.gov.parameters(), "contracts": t.config.deployment,
                "datanet_names": {d.id: d.name for d in t.datanets()}}  # fmt: skip

    return render(request, "parameters.html", title="Parameters", **await home(request, read))


@router.post("/proposals")
async def propose(request: Request) -> Response:
    session, form = await checked_form(request)
    t = signing_home(session)
    description = required(form, "description", 1024)
    build = builder(form)  # refuses malformed fields before anything reaches the chain
    number = await home(request, lambda _: t.gov.propose(build(t), description))
    return redirect(request, f"/proposals/{number}")


@router.post("/proposals/{proposal_id}/vote")
async def vote(request: Request, proposal_id: str) -> Response:
    session, form = await checked_form(request)
    t, number = signing_home(session), _proposal_number(proposal_id)
    support, reason = required(form, "support", 16), form.get("reason", "").strip()
    await home(request, lambda _: t.gov.vote(number, support, reason))
    return redirect(request, f"/proposals/{number}")


# the steps that take only the proposal, each open to anyone the governor lets take it
STEPS: dict[str, Callable[[tessera.Tessera, int], object]] = {
    "queue": lambda t, number: t.gov.queue(number),
    "execute": lambda t, number: t.gov.execute(number),
    "cancel": lambda t, number: t.gov.cancel(number),
}


@router.post("/proposals/{proposal_id}/{step}")
async def lifecycle(request: Request, proposal_id: str, step: str) -> Response:
    session, _ = await checked_form(request)
    run = STEPS.get(step)
    if run is None:
        raise tessera.NotFoundError(
            f"a proposal is voted on, queued, executed or cancelled, not {step[:40]!r}"
        )
    t, number = signing_home(session), _proposal_number(proposal_id)
    await home(request, lambda _: run(t, number))
    return redirect(request, f"/proposals/{number}")


@router.post("/gov/delegate")
async def delegate(request: Request) -> Response:
    session, form = await checked_form(request)
    t, to = signing_home(session), form.get("to", "").strip() or None
    await home(request, lambda _: t.gov.delegate(to))
    return redirect(request, "/proposals/new")


def _proposal_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise tessera.InputError(f"{text[:40]!r} is not a proposal number: see /proposals")
    return int(text)


# what the detail page draws


def _bars(status: tessera.ProposalStatus) -> list[tuple[str, int, float]]:
    """(choice, votes, bar length) for, against and abstain, scaled to the larger of the
    votes cast and the quorum: while few have voted, every bar stays short."""
    record = status.record
    votes = [
        ("for", record.for_votes),
        ("against", record.against_votes),
        ("abstain", record.abstain_votes),
    ]
    scale = max(sum(v for _, v in votes), record.quorum or 0, 1)
    return [(name, v, round(BAR_WIDTH * v / scale, 1)) for name, v in votes]


def _created(t: tessera.Tessera, proposal_id: int) -> dict[str, Any] | None:
    """When and in which block and transaction the proposal was made (None: its log is gone,
    as on a pruned node)."""
    logs = t.chain.log_index.read(
        t.gov.governor.contract.events.ProposalCreated, t.config.deployment.block,
        proposal_id=proposal_id,
    )  # fmt: skip
    if not logs:
        return None
    block = t.chain.w3.eth.get_block(logs[0].blockNumber)
    return {"time": int(block["timestamp"]), "block": int(logs[0].blockNumber),
            "tx": "0x" + bytes(logs[0].transactionHash).hex()}  # fmt: skip

"""Operators' and validators' pages: every node with its stake and live health, the validator
set, a node's posted epochs, challenges and slashes, and one epoch re-audited from its bundle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import tessera
from tessera.web.forms import ADDRESS
from tessera.web.paging import Page, page_number, paginate
from tessera.web.rendering import home, page_size, render

router = APIRouter()

BAR_WIDTH = 100  # a stake bar's full length, in its SVG's units
RECENT_CHALLENGES = 10  # on the network page; a node's page lists all of its own


@router.get("/nodes", response_class=HTMLResponse)
async def nodes(request: Request, page: str | None = None) -> HTMLResponse:
    number = page_number(page)

    def read(t: tessera.Tessera) -> dict[str, Any]:
        return {
            "nodes": t.nodes(),  # each probed on /health now, concurrently
            "min_stake": t.staking.min_stake(),
            "validators": _validators(t),
            "params": t.disputes.params(),
            "challenges": t.challenges()[-RECENT_CHALLENGES:][::-1],
        }

    found = await home(request, read)
    listed: list[tessera.NetworkNode] = found.pop("nodes")
    bonded = sum(n.stake for n in listed) or 1
    bars = {n.address: round(BAR_WIDTH * n.stake / bonded, 1) for n in listed}
    return render(
        request, "nodes.html", title="Nodes and validators", bars=bars,
        page=paginate(listed, number, page_size(request)), **found,
    )  # fmt: skip


@router.get("/nodes/{address}", response_class=HTMLResponse)
async def node(request: Request, address: str, page: str | None = None) -> HTMLResponse:
    wanted, number, size = _address(address), page_number(page), page_size(request)

    def read(t: tessera.Tessera) -> dict[str, Any]:
        who = t.address(wanted)
        record, count = t.staking.node(who), t.settlement.epoch_count(who)
        if not record.registered_at and not count:
            raise tessera.NotFoundError(
                f"{who} has never registered as a node nor posted an epoch: /nodes lists nodes"
            )
        # newest first, and only this page's epochs read from the chain
        numbers = paginate(range(count - 1, -1, -1), number, size)
        rows = t.settlement.epoch_summaries(who, numbers.items)
        return {
            "who": who, "record": record, "live": _live(t, who) if record.active else None,
            "epochs": Page(rows, numbers.number, numbers.pages, numbers.total, numbers.first),
            "challenges": t.challenges(who)[::-1],
            "slashed": t.staking.slashed(who, t.config.deployment.block),
            "voided_from": t.settlement.voided_from(who),
            "frozen": t.settlement.open_challenges(who),
            "redeemed": t.settlement.node_redeemed(who), "paid": t.settlement.node_paid(who),
            "validator_stake": t.disputes.validator_stake(who),
        }  # fmt: skip

    found = await home(request, read)
    return render(request, "node.html", title="Node", **found)


@router.get("/nodes/{address}/epochs/{epoch}", response_class=HTMLResponse)
async def epoch(request: Request, address: str, epoch: str) -> HTMLResponse:
    wanted, n = _address(address), _epoch_number(epoch)

    def read(t: tessera.Tessera) -> dict[str, Any]:
        who = t.address(wanted)
        count = t.settlement.epoch_count(who)
        if n >= count:
            posted = f"epochs 0 to {count - 1}" if count else "no epochs"
            raise tessera.NotFoundError(
                f"node {who} has posted {posted}, not epoch {n}: its page /nodes/{who} lists them"
            )
        try:  # the bundle may not be fetchable: the chain's record is still shown
            audit, problem = t.audit_epoch(n, who), None
        except tessera.TesseraError as exc:
            audit, problem = None, str(exc)
        row = _epoch_row(t, who, n)
        return {
            **row, "who": who, "audit": audit, "problem": problem, "now": t.settlement.now(),
            "refunds": t.settlement.refunds(who, n) if row["voided"] else [],
            "challenges": [c for c in t.challenges(who) if c.epoch == n],
        }  # fmt: skip

    found = await home(request, read)
    return render(request, "epoch.html", title=f"Epoch {n}", **found)


def _address(text: str) -> str:
    if not ADDRESS.fullmatch(text):
        raise tessera.InputError(
            f"{text[:50]!r} is not a node's address: give 0x and 40 hex digits, as /nodes "
            "lists them"
        )
    return text


def _epoch_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise tessera.InputError(
            f"{text[:40]!r} is not an epoch number: epochs are numbered 0, 1, 2, ... on the "
            "node's page"
        )
    return int(text)


def _epoch_row(t: tessera.Tessera, node: str, n: int) -> dict[str, Any]:
    """A posted epoch and what became of it: when it is claimable, voided, refunded."""
    settlement = t.settlement
    return {
        "e": settlement.epoch(node, n),
        "claimable_at": settlement.claimable_at(node, n),
        "voided": settlement.is_voided(node, n),
        "refunded": settlement.is_refunded(node, n),
    }


def _live(t: tessera.Tessera, node: str) -> tessera.NetworkNode | None:
    """The node as the network sees it now: metadata and a health probe (of it alone)."""
    return t.network_node(node)


def _validators(t: tessera.Tessera) -> list[dict[str, Any]]:
    disputes = t.disputes
    return [
        {
            "address": a,
            "stake": disputes.validator_stake(a),
            "rewards": disputes.rewards(a),
            "unbonding_ends": disputes.unbonding_ends(a),
        }
        for a in disputes.validators()
    ]

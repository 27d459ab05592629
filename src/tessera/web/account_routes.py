"""An account's page (contributor and client alike) and what its owner does there: unlock a
local account for this browser session, claim earnings, deposit to and withdraw from escrow."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import tessera
from tessera.web.charts import bar_chart
from tessera.web.forms import amount, checked_form, required, signing_home
from tessera.web.paging import page_number, page_of, paginate, window
from tessera.web.rendering import home, page_size, redirect, render, session_of

router = APIRouter()
RECENT_ANSWERS = 20  # of the receipts this home kept for the account


@router.get("/session", response_class=HTMLResponse)
async def session_page(request: Request) -> HTMLResponse:
    accounts = await home(request, lambda t: t.accounts())
    return render(request, "session.html", title="Sign in", accounts=accounts)


@router.post("/session/unlock")
async def unlock(request: Request) -> Response:
    session, form = await checked_form(request)
    if not request.app.state.config.allow_unlock or not _loopback(request):
        raise tessera.AccountError(
            "this server does not unlock local accounts: it is not serving loopback only. "
            "Use a browser wallet, or run `tessera web` on your own machine"
        )
    name, password = required(form, "account", 128), required(form, "password", 1024)
    view = await home(request, lambda t: t.unlocked(name, password))
    session.unlocked, session.account = view, view.config.default_account
    session.address = view.address()
    return redirect(request, f"/accounts/{session.address}")


@router.post("/session/lock")
async def lock(request: Request) -> Response:
    session, _ = await checked_form(request)
    session.lock()
    return redirect(request, "/")


@router.get("/accounts/{address}", response_class=HTMLResponse)
async def account(
    request: Request, address: str, page: str | None = None, moves: str | None = None
) -> HTMLResponse:
    number, size, moves_number = page_number(page), page_size(request), page_number(moves)

    def read(t: tessera.Tessera) -> dict[str, Any]:
        who = t.address(address)  # a name or an address; refuses anything else
        names = {d.id: d.name for d in t.datanets()}
        total, _ = t.contributions_by(who, 0, 0)
        shown, offset = window(total, number, size)
        _, items = t.contributions_by(who, offset, size)
        mine = page_of([(names.get(c.datanet, str(c.datanet)), c) for c in items], total,
                       shown, size)  # fmt: skip
        # the answers this home asked for the account: shown to the account's owner only
        kept = t.kept_receipts(who) if _is_own(request, who) else []
        return {"who": who, "wallet": t.wallet(who), "earnings": t.earnings(who),
                "mine": mine, "datanet_names": names, "history": t.channel_history(who),
                "answers": kept[:RECENT_ANSWERS], "answers_total": len(kept)}  # fmt: skip

    found = await home(request, read)
    earned = found["earnings"]
    epochs = sorted(earned.epochs, key=lambda e: (e.claimable_at, e.node, e.epoch))
    chart = bar_chart(
        [(f"{e.node[:8]}… epoch {e.epoch}", e.amount, tessera.format_tsr(e.amount)) for e in epochs]
    )
    return render(
        request, "account.html", title="Account", chart=chart, epochs=epochs,
        contributions=found.pop("mine"),
        spent=sum(e.spent for e in found["history"]),
        history=paginate(found.pop("history"), moves_number, size),
        own=_is_own(request, found["who"]), **found,
    )  # fmt: skip


@router.post("/accounts/claim")
async def claim(request: Request) -> Response:
    session, _ = await checked_form(request)
    t = signing_home(session)
    claimed = await home(request, lambda _: t.claim())
    total = sum(c.amount for c in claimed)
    return redirect(request, f"/accounts/{session.address}?claimed={total}")


@router.post("/wallet/{step}")
async def channel_step(request: Request, step: str) -> Response:
    """deposit, request-withdrawal (each NODE and AMOUNT) or withdraw (NODE): one channel."""
    session, form = await checked_form(request)
    if step not in ("deposit", "request-withdrawal", "withdraw"):
        raise tessera.NotFoundError(
            f"no wallet step {step[:40]!r}: deposit, request-withdrawal, withdraw"
        )
    t, node = signing_home(session), required(form, "node", 128)
    value = amount(form) if step != "withdraw" else 0
    steps = {
        "deposit": lambda: t.deposit(value, node),
        "request-withdrawal": lambda: t.request_withdrawal(value, node),
        "withdraw": lambda: t.withdraw(node),
    }
    await home(request, lambda _: steps[step]())
    return redirect(request, f"/accounts/{session.address}")


def _is_own(request: Request, address: str) -> bool:
    own = session_of(request).address
    return own is not None and own.lower() == address.lower()


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

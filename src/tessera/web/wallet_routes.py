"""JSON for a browser wallet (EIP-1193, driven by static/app.js): the unsigned transactions of
a step, what became of one once sent, and the typed data of a voucher to sign.

The server holds no key for a wallet's user: it builds, the wallet signs and sends, and the
chain checks. Every answer is `{"error": "..."}` with a 4xx/5xx status when refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import tessera
from tessera.web.forms import ADDRESS
from tessera.web.rendering import error_status, home, no_store_json

router = APIRouter(prefix="/api")

MAX_REASON = 1024  # characters; the facade holds a reason to the governor's 256 bytes
Build = Callable[[tessera.Tessera], Any]


class Query:
    """A request's query parameters, each bounded and parsed, or InputError naming it."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params

    def text(self, name: str, limit: int, required: bool = True) -> str:
        value = self.params.get(name, "").strip()
        if not value and required:
            raise tessera.InputError(f"the {name!r} parameter is missing: give it in the URL")
        if len(value) > limit:
            raise tessera.InputError(f"the {name!r} parameter is over {limit} characters")
        return value

    def address(self, name: str) -> str:
        value = self.text(name, 42)
        if not ADDRESS.fullmatch(value):
            raise tessera.InputError(
                f"the {name!r} parameter {value!r} is not an address: give 0x and 40 hex digits"
            )
        return value

    def sender(self) -> str:
        return self.address("from")

    def proposal(self) -> int:
        value = self.text("proposal", 20)
        if not (value.isascii() and value.isdigit()):
            raise tessera.InputError(f"the proposal {value!r} is not a proposal number")
        return int(value)

    def amount(self) -> int:
        return tessera.parse_tsr(self.text("amount", 80))


def _vote(q: Query) -> Build:
    sender, proposal = q.sender(), q.proposal()
    support, reason = q.text("support", 16), q.text("reason", MAX_REASON, required=False)
    return lambda t: t.vote_transactions(sender, proposal, support, reason)


def _queue(q: Query) -> Build:
    sender, proposal = q.sender(), q.proposal()
    return lambda t: t.queue_transactions(sender, proposal)


def _execute(q: Query) -> Build:
    sender, proposal = q.sender(), q.proposal()
    return lambda t: t.execute_transactions(sender, proposal)


def _delegate(q: Query) -> Build:
    sender = q.sender()
    return lambda t: t.delegate_transactions(sender)


def _deposit(q: Query) -> Build:
    sender, node, amount = q.sender(), q.address("node"), q.amount()
    return lambda t: t.deposit_transactions(sender, node, amount)


def _claim(q: Query) -> Build:
    sender = q.sender()
    return lambda t: t.claim_transactions(sender)


STEPS: dict[str, Callable[[Query], Build]] = {
    "vote": _vote,
    "queue": _queue,
    "execute": _execute,
    "delegate": _delegate,
    "deposit": _deposit,
    "claim": _claim,
}


@router.get("/tx/{step}")
async def transactions(request: Request, step: str) -> JSONResponse:
    """`{"transactions": [...]}`: send each with `eth_sendTransaction`, in order, each once
    the one before it is mined."""
    parse = STEPS.get(step)
    if parse is None:
        known = ", ".join(STEPS)
        return no_store_json({"error": f"there is no step {step[:40]!r}: give one of {known}"}, 404)
    return await _answer(request, parse, "transactions")


@router.get("/tx-status/{tx_hash}")
async def tx_status(request: Request, tx_hash: str) -> JSONResponse:
    """`{"status": "pending" | "succeeded" | "reverted"}`."""
    checked = tx_hash[:80]  # the facade refuses anything but 0x and 64 hex digits
    return await _answer(request, lambda _: lambda t: t.transaction_status(checked), "status")


@router.get("/voucher")
async def voucher(request: Request) -> JSONResponse:
    """A voucher's EIP-712 typed data, for `eth_signTypedData_v4` with the `from` account."""

    def parse(q: Query) -> Build:
        client, node, amount = q.sender(), q.address("node"), q.amount()
        return lambda t: t.voucher_typed_data(client, node, amount)

    return await _answer(request, parse, None)


async def _answer(
    request: Request, parse: Callable[[Query], Build], key: str | None
) -> JSONResponse:
    try:
        found = await home(request, parse(Query(request)))
    except tessera.TesseraError as exc:
        return no_store_json({"error": str(exc)}, error_status(exc))
    return no_store_json(found if key is None else {key: found})

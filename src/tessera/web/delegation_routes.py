"""Delegating votes by signature (static/delegate-wallet.js): a browser wallet signs the
token's EIP-712 `Delegation` and this server relays it, paying the gas, in two JSON steps.

The relayer is the account unlocked in the browser's session, else the app's
`WebConfig.relayer`; with neither, both steps refuse, and the wallet can still send the
delegate transaction itself (/api/tx/delegate). A refusal is `{"error": "..."}` with a
4xx/5xx status.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import tessera
from tessera.web.forms import checked_json, json_address, json_text, json_uint
from tessera.web.rendering import home, json_answer
from tessera.web.sessions import Session

router = APIRouter(prefix="/api/delegation")
MAX_SIGNATURE = 132  # 0x and 65 bytes in hex
Relayer = tuple[tessera.Tessera | None, str | None]  # (a session's unlocked home, an account)


@router.post("/typed-data")
async def typed_data(request: Request) -> JSONResponse:
    """`{"delegator", "delegatee"?, "csrf"}` -> the typed data for `eth_signTypedData_v4`
    by `delegator`: its votes go to `delegatee` (default: itself). Post the message's values
    with the signature to /api/delegation before its expiry."""

    async def prepare() -> dict[str, Any]:
        session, body = await checked_json(request)
        delegator = json_address(body, "delegator")
        delegatee = json_address(body, "delegatee", needed=False) or delegator
        relayer(request, session)  # refused before the wallet is asked to sign
        return await home(request, lambda t: t.delegation_typed_data(delegator, delegatee))

    return await json_answer(prepare)


@router.post("")
async def relay(request: Request) -> JSONResponse:
    """`{"delegator", "delegatee", "nonce", "expiry", "signature", "csrf"}` ->
    `{"transaction", "delegate", "votes", "votes_tsr", "relayer"}`: the relayer's transaction,
    mined, and the delegator's delegate and that delegate's votes after it. A signature that
    is not the delegator's, expired or used already is refused and nothing is sent."""

    async def send() -> dict[str, Any]:
        session, body = await checked_json(request)
        delegator, delegatee = json_address(body, "delegator"), json_address(body, "delegatee")
        nonce, expiry = json_uint(body, "nonce"), json_uint(body, "expiry")
        signature = json_text(body, "signature", MAX_SIGNATURE)
        own, name = relayer(request, session)
        session.relays.take("delegations relayed for this browser")
        request.app.state.relays.take("delegations relayed by this server")

        def run(t: tessera.Tessera) -> dict[str, Any]:
            sender = own or t
            tx = sender.relay_delegation(delegator, delegatee, nonce, expiry, signature, name)
            delegate = t.gov.voting_power(delegator)[1]  # as the chain has it now
            votes = t.gov.voting_power(delegate)[0]
            return {"transaction": tx, "delegate": delegate, "votes": str(votes),
                    "votes_tsr": tessera.format_tsr(votes),
                    "relayer": sender.address(name)}  # fmt: skip

        return await home(request, run)

    return await json_answer(send)


def relayer(request: Request, session: Session) -> Relayer:
    """Who pays the gas: the session's unlocked account, else the app's relayer."""
    if session.unlocked is not None:
        return session.unlocked, None
    configured: str | None = request.app.state.config.relayer
    if configured is None:
        raise tessera.AccountError(
            "this server relays no signed delegations: no local account is unlocked in this "
            "browser and it was started without `tessera web --relayer NAME`. Use “Delegate "
            "to yourself with your wallet” instead (your wallet sends it and pays its gas), "
            "or sign in with a local account, which then pays the gas"
        )
    return None, configured

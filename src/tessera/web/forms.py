"""What every state-changing request passes first: a bounded form, its CSRF token, and (to
sign with a local account) an account this session unlocked."""

from __future__ import annotations

import re

from fastapi import Request

import tessera
from tessera.web.rendering import session_of
from tessera.web.sessions import Session

MAX_FIELDS = 32
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # as a path or query names an account


async def checked_form(request: Request) -> tuple[Session, dict[str, str]]:
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    session = session_of(request)
    token = form.get("csrf")
    # no token: another site's form, or a page from before a restart
    if not session.csrf_ok(token if isinstance(token, str) else None):
        raise tessera.SignatureError(
            "this form's security token is missing or out of date: reload the page and try again"
        )
    return session, {key: value for key, value in form.items() if isinstance(value, str)}


def signing_home(session: Session) -> tessera.Tessera:
    if session.unlocked is None:
        raise tessera.AccountError(
            "no account is unlocked in this browser: sign in with a local account first, "
            "or use a browser wallet"
        )
    return session.unlocked


def amount(form: dict[str, str], name: str = "amount") -> int:
    text = form.get(name, "").strip()
    if not text:
        raise tessera.InputError(f"give an amount of TSR in the {name!r} field, e.g. 10 or 0.25")
    return tessera.parse_tsr(text[:80])


def required(form: dict[str, str], name: str, limit: int = 4096) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise tessera.InputError(f"the {name!r} field is empty: fill it in")
    if len(value) > limit:
        raise tessera.InputError(f"the {name!r} field is over {limit} characters")
    return value

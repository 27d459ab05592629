"""What every state-changing request passes first: a bounded form (or JSON object), its CSRF
token, and (to sign with a local account) an account this session unlocked."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

import tessera
from tessera.web.rendering import session_of
from tessera.web.sessions import Session

MAX_FIELDS = 32
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # as a path or query names an account
UINT256_DIGITS = 78  # 2**256 - 1 in decimal


async def checked_form(request: Request) -> tuple[Session, dict[str, str]]:
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    session = _checked_csrf(request, form.get("csrf"))
    return session, {key: value for key, value in form.items() if isinstance(value, str)}


async def checked_json(request: Request) -> tuple[Session, dict[str, Any]]:
    """A JSON object body (its size bounded by the app's guard before it is read) that carries
    the page's CSRF token as `csrf`."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise tessera.InputError("send the body as JSON, with Content-Type: application/json")
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise tessera.InputError("the body is not JSON: send one JSON object") from None
    if not isinstance(body, dict) or len(body) > MAX_FIELDS:
        raise tessera.InputError(f"the body must be a JSON object of at most {MAX_FIELDS} fields")
    return _checked_csrf(request, body.get("csrf")), body


def _checked_csrf(request: Request, token: object) -> Session:
    session = session_of(request)
    # no token: another site's form, or a page from before a restart
    if not session.csrf_ok(token if isinstance(token, str) else None):
        raise tessera.SignatureError(
            "this form's security token is missing or out of date: reload the page and try again"
        )
    return session


def signing_home(session: Session) -> tessera.Tessera:
    if session.unlocked is None:
        raise tessera.AccountError(
            "no account is unlocked in this browser: sign in with a local account first, "
            "or use a browser wallet"
        )
    return session.unlocked


def amount(form: dict[str, str], name: str = "amount", allow_zero: bool = False) -> int:
    text = form.get(name, "").strip()
    if not text:
        raise tessera.InputError(f"give an amount of TSR in the {name!r} field, e.g. 10 or 0.25")
    return tessera.parse_tsr(text[:80], allow_zero)


def json_text(body: dict[str, Any], name: str, limit: int, needed: bool = True) -> str:
    """A JSON body's string field, as `required` checks a form's ("" when absent and not
    `needed`)."""
    value = body.get(name, "")
    if not isinstance(value, str):
        raise tessera.InputError(f"the {name!r} field must be a string")
    if not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value):
        raise tessera.InputError(
            f"the {name!r} field holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff "
            "escape): send valid Unicode text"
        )
    if not needed and not value.strip():
        return ""
    return required(body, name, limit)


def json_address(body: dict[str, Any], name: str, needed: bool = True) -> str:
    """A JSON body's 0x-address field ("" when absent and not `needed`); the facade checks
    its EIP-55 checksum."""
    value = json_text(body, name, 42, needed)
    if value and not ADDRESS.fullmatch(value):
        raise tessera.InputError(
            f"the {name!r} field {value!r} is not an address: give 0x and 40 hex digits"
        )
    return value


def json_uint(body: dict[str, Any], name: str) -> int:
    """A JSON body's whole-number field: decimal digits in a string (as typed data gives
    them: JavaScript numbers lose digits above 2**53) or a JSON integer."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise tessera.InputError(f"the {name!r} field must be a whole number in decimal digits")
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > UINT256_DIGITS:
        raise tessera.InputError(
            f"the {name!r} field must be decimal digits only (at most {UINT256_DIGITS}), "
            f"not {text[:24]!r}"
        )
    return int(text)


def required(form: dict[str, str], name: str, limit: int = 4096) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise tessera.InputError(f"the {name!r} field is empty: fill it in")
    if len(value) > limit:
        raise tessera.InputError(f"the {name!r} field is over {limit} characters")
    return value

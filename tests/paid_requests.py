"""Paid requests as an honest client sends them, for tests that write raw HTTP: the voucher,
and the client's authorization of exactly the body the node keeps (its receipt's `request`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tessera import Tessera
from tessera._client import sign_request
from tessera._crypto.authorization import AUTHORIZATION_HEADER
from tessera._crypto.receipt import canonical_json
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node import wire

CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"


def kept_request(path: str, body: Any) -> dict[str, Any] | None:
    """What a node keeps of the JSON value `body` sent to `path`, as its receipt's `request`;
    None when the node refuses it before it reads any authorization."""
    model = {CHAT: wire.ChatRequest, COMPLETIONS: wire.CompletionRequest}.get(path)
    if model is None:
        return None
    try:
        kept = model.model_validate(body).model_dump(mode="json", exclude_unset=True)
        canonical_json(kept)  # a lone surrogate is no UTF-8: refused as invalid Unicode
    except (ValidationError, UnicodeEncodeError):
        return None
    return kept


def authorization(t: Tessera, node: str, request: dict[str, Any], account: str = "client") -> str:
    """The header value: `account`'s signature of `request` for `node`, with a fresh nonce."""
    return sign_request(t.payer(account), node, request).to_header()


def paid_headers(
    t: Tessera,
    node: str,
    voucher: str,
    body: Any,
    path: str = CHAT,
    account: str = "client",
) -> dict[str, str]:
    """The voucher header, and the authorization of `body` when the node would read one."""
    headers = {VOUCHER_HEADER: voucher}
    request = kept_request(path, body)
    if request is not None:
        headers[AUTHORIZATION_HEADER] = authorization(t, node, request, account)
    return headers

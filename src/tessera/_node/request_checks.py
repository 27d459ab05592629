"""Cheap checks of a parsed request, run before retrieval, tokenisation or payment.

Each refusal is a `NodeError` with the OpenAI error code and the parameter at fault.
"""

from __future__ import annotations

import json
from typing import Any

from tessera._crypto.authorization import AUTHORIZATION_HEADER, ClientAuthorization
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._errors import InputError, NodeError, SignatureError
from tessera._node.config import NodeConfig

MAX_AUTHORIZATION_CHARS = 256  # NONCE:0xSIGNATURE: at most 78 + 1 + 132 characters


def one_voucher(headers: list[str]) -> str | None:
    """A proxy may read another copy of a repeated header than the node: refuse ambiguity."""
    if len(headers) > 1:
        raise NodeError(
            f"the request carries {len(headers)} {VOUCHER_HEADER} headers: send exactly one",
            status=402,
            code="invalid_voucher",
            param="voucher",
        )
    return headers[0] if headers else None


def one_authorization(headers: list[str]) -> ClientAuthorization:
    """The request's one client authorization, parsed only once its size is known to be small."""
    if not headers or not headers[0]:
        raise unauthorized(
            f"this node charges per token: each paid request needs an {AUTHORIZATION_HEADER} "
            "header, your account's signature of this request for this node (`tessera ask` "
            "and NodeClient send it)",
            "authorization_required",
        )
    if len(headers) > 1:
        raise unauthorized(
            f"the request carries {len(headers)} {AUTHORIZATION_HEADER} headers: send exactly one"
        )
    if len(headers[0]) > MAX_AUTHORIZATION_CHARS:
        raise unauthorized(
            f"the {AUTHORIZATION_HEADER} header is {len(headers[0])} characters; an "
            f"authorization takes at most {MAX_AUTHORIZATION_CHARS}: send NONCE:0xSIGNATURE"
        )
    try:
        return ClientAuthorization.from_header(headers[0])
    except (InputError, SignatureError) as exc:  # SignatureError: a signature of the wrong shape
        raise unauthorized(str(exc)) from None


def unauthorized(
    message: str, code: str = "invalid_authorization", details: dict[str, str] | None = None
) -> NodeError:
    return NodeError(message, status=401, code=code, param="authorization", details=details)


def valid_unicode(kept: dict[str, Any]) -> None:
    """JSON may carry a lone UTF-16 surrogate (`"\\ud800"`), which no UTF-8 text can hold."""
    try:
        json.dumps(kept, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise NodeError(
            "the request holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape): "
            "send valid Unicode text",
            status=400,
            code="invalid_request",
        ) from None


def prompt_size(text: str, body: Any, config: NodeConfig) -> None:
    param = "messages" if hasattr(body, "messages") else "prompt"
    if hasattr(body, "messages") and len(body.messages) > config.max_messages:
        raise NodeError(
            f"the request has {len(body.messages)} messages; this node takes at most "
            f"{config.max_messages}",
            status=400,
            code="invalid_request",
            param="messages",
        )
    if not text.strip():
        raise NodeError(
            "the question is empty: send a user message with text",
            status=400,
            code="empty_prompt",
            param=param,
        )
    if len(text) > config.max_prompt_chars:
        raise NodeError(
            f"the question is {len(text)} characters; this node takes at most "
            f"{config.max_prompt_chars} (its max_prompt_chars): shorten it",
            status=400,
            code="prompt_too_long",
            param=param,
        )


def stop_strings(stop: str | list[str] | None, limit: int) -> list[str]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > limit:
        raise NodeError(
            f"send at most {limit} stop strings, not {len(stops)}",
            status=400,
            code="invalid_request",
            param="stop",
        )
    return stops

"""Bounds on what a client may send, enforced before a byte of it is parsed.

An ASGI middleware in front of the app: a body longer than the limit is refused (413) from
its Content-Length or as soon as the bytes read pass the limit, and a JSON body nested deeper
than the limit is refused (400) by counting brackets outside strings, before any parser
recurses into it (a 200 KB body of `[` once crashed the interpreter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np

from tessera._node import wire

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # \" and \\ first, so quotes left are real ones
_STRING = re.compile(rb'"[^"]*"')
_BRACKETS = bytes.maketrans(b"", b"")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do
    not count). Linear time, no recursion; for malformed text a bound the parser will refuse."""
    bare = _STRING.sub(b"", _ESCAPE.sub(b"", body)).translate(_BRACKETS, _NOT_BRACKETS)
    if not bare:
        return 0
    codes = np.frombuffer(bare, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


OVERSIZED_INT_DIGITS = 40  # beyond any uint256; longer integers are read as out of range


def strict_json(body: bytes) -> bytes:
    """The body as one JSON object, re-encoded, or ValueError saying what is wrong. Strict:
    UTF-8 only (no BOM), no NaN or Infinity, an object at the top. An integer too long for
    any field becomes infinity, which every integer field refuses by name, instead of making
    the parser spend quadratic time on it. The app parses exactly what was checked here."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the body is not UTF-8 (byte {exc.start}): send JSON encoded as UTF-8"
        ) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int)
    except ValueError as exc:
        raise ValueError(
            f"the request body is not valid JSON ({exc}): send a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(
            f"the request body is a JSON {type(value).__name__}, not an object: send one "
            "request as a JSON object"
        )
    return json.dumps(value).encode()


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _bounded_int(text: str) -> int | float:
    digits = text.lstrip("-")
    return int(text) if len(digits) <= OVERSIZED_INT_DIGITS else float("inf")


def error_message(status: int, message: str, code: str, param: str | None = None) -> bytes:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return json.dumps(wire.error_body(message, code, param, kind)).encode()


class BodyLimits:
    """Guards the routes that read a JSON body (`paths`); the others never read one."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, max_depth: int, paths: tuple[str, ...]
    ) -> None:
        self.app, self.max_bytes, self.max_depth, self.paths = app, max_bytes, max_depth, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["method"] == "POST"
        if not guarded or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None or declared > self.max_bytes:
            await self._refuse(send, *self._too_large(declared))
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, *self._too_large(size))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not _is_json(scope):
            await self._refuse(
                send,
                415,
                "send the request as JSON, with Content-Type: application/json",
                "unsupported_media_type",
            )
            return
        depth = json_depth(body)
        if depth > self.max_depth:
            await self._refuse(
                send,
                400,
                f"the body nests {depth} levels of arrays and objects; this node accepts at "
                f"most {self.max_depth}: send a flat chat request",
                "json_too_deep",
            )
            return
        try:
            canonical = strict_json(body)
        except ValueError as exc:
            await self._refuse(send, 400, str(exc), "invalid_json")
            return
        await self.app(scope, _replay(canonical, receive), send)

    def _too_large(self, size: int | None) -> tuple[int, str, str]:
        if size is None:
            return 400, "the Content-Length header is malformed", "invalid_request"
        return (
            413,
            f"the request body is {size} bytes or more; this node accepts at most "
            f"{self.max_bytes} (its max_body_bytes): shorten the messages",
            "request_too_large",
        )

    @staticmethod
    async def _refuse(send: Send, status: int, message: str, code: str) -> None:
        payload = error_message(status, message, code)
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    """The declared length (0 when absent, as for a chunked body); None if malformed."""
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
    if not values:
        return 0
    if len(set(values)) != 1 or not values[0].isdigit() or len(values[0]) > 64:
        return None
    return int(values[0])


def _is_json(scope: Scope) -> bool:
    """application/json (or +json), with any parameters."""
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"content-type"]
    if not values:
        return False
    kind = values[0].split(b";")[0].strip().lower()
    return len(values) == 1 and (kind == b"application/json" or kind.endswith(b"+json"))


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the real channel (so a disconnect is still seen)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed

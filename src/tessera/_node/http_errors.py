"""Every error the node's HTTP API returns is an OpenAI error object: `{"error": {...}}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tessera._errors import NodeError
from tessera._node import wire


def install(app: FastAPI) -> None:
    app.exception_handler(RequestValidationError)(invalid)
    app.exception_handler(HTTPException)(http_error)
    app.exception_handler(NodeError)(refused)
    app.exception_handler(Exception)(crashed)


def error_response(
    status: int,
    message: str,
    code: str | None,
    param: str | None = None,
    details: dict[str, str] | None = None,
) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = wire.error_body(message, code, param, kind)
    if details:
        body["error"]["tessera"] = details  # amounts a paying client can act on
    return JSONResponse(body, status_code=status)


async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = wire.error_param(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return error_response(
            400, "the request body is not valid JSON: send a JSON object", "invalid_json"
        )
    return error_response(
        400,
        f"invalid request: {where or 'body'}: {first.get('msg', exc)}",
        "invalid_request",
        where or None,
    )


async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI's own body parser gave up (e.g. a 5,000-digit int)
        return error_response(
            400,
            f"the request body could not be parsed ({exc.detail}): send a JSON object "
            "with integers of at most 4,300 digits",
            "invalid_json",
        )
    return error_response(exc.status_code, str(exc.detail), None)


async def refused(_: Request, exc: NodeError) -> JSONResponse:
    return error_response(exc.status, str(exc), exc.code, exc.param, exc.details)


async def crashed(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, f"the node failed: {type(exc).__name__}: {exc}", "internal_error")

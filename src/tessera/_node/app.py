"""The node's HTTP API: OpenAI-compatible routes over `NodeService`, errors as OpenAI errors."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._errors import NodeError
from tessera._node import request_checks as checks
from tessera._node import wire
from tessera._node.limits import BodyLimits
from tessera._node.service import Answer, NodeService, Pending, Question
from tessera._payments.ledger import DELIVERED, PENDING, UNDELIVERED


def _sse(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n"


def _put(loop: asyncio.AbstractEventLoop, pieces: asyncio.Queue[str], piece: str) -> None:
    """Hand a piece of text from the engine thread to the request's event loop."""
    loop.call_soon_threadsafe(pieces.put_nowait, piece)


def _error(
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


def create_app(service: NodeService) -> FastAPI:
    app = FastAPI(
        title="Tessera node",
        version="0.1.0",
        description="OpenAI-compatible answers with proof of attribution.",
    )
    model_id = service.config.model_id
    limits = service.config
    app.add_middleware(
        BodyLimits,
        max_bytes=limits.max_body_bytes,
        max_depth=limits.max_json_depth,
        paths=("/v1/chat/completions", "/v1/completions"),
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = wire.error_param(first.get("loc", ()))
        if first.get("type") == "json_invalid":
            return _error(
                400, "the request body is not valid JSON: send a JSON object", "invalid_json"
            )
        return _error(
            400,
            f"invalid request: {where or 'body'}: {first.get('msg', exc)}",
            "invalid_request",
            where or None,
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's own body parser gave up (e.g. a 5,000-digit int)
            return _error(
                400,
                f"the request body could not be parsed ({exc.detail}): send a JSON object "
                "with integers of at most 4,300 digits",
                "invalid_json",
            )
        return _error(exc.status_code, str(exc.detail), None)

    @app.exception_handler(NodeError)
    async def refused(_: Request, exc: NodeError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.code, exc.param, exc.details)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"the node failed: {type(exc).__name__}: {exc}", "internal_error")

    @app.get("/health")
    def health() -> dict[str, Any]:
        follower = service.follower
        money = service.settlement_health
        healthy = follower.error is None and money.ok
        return {
            "status": "ok" if healthy else "degraded",
            "model": model_id,
            "node": service.node_key.address,
            "follower_error": follower.error,
            "policy_error": service.policy.error if service.policy else None,
            "indexed": len(service.vectors),
            "datanets": [vars(s) for s in follower.snapshots.values()],
            "receipts": service.receipts.count(),
            # a settlement that fails, or receipts that cannot be redeemed, cost the node money
            "settlement": money.to_json(),
        }

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        config = service.config
        gate = service.payments
        policy = service.content_policy()
        served = service.follower.snapshots.values()
        return {
            "object": "list",
            "data": [
                {
                    "id": model_id,
                    "object": "model",
                    "created": 0,
                    "owned_by": service.node_key.address,
                    "context_window": config.max_prompt_tokens,
                    "pricing": {
                        "input_token": str(service.price(1, 0)),
                        "output_token": str(service.price(0, 1)),
                        "unit": "smallest TSR unit (18 decimals)",
                    },
                    "datanets": sorted(s.name for s in served),
                    "weights_digest": service.weights_digest,
                    # approved by governance: this id with exactly these weights
                    "approved": policy.model_approved(model_id, service.weights_digest),
                    "tessera": {
                        "node": service.node_key.address,
                        "chain_id": service.chain_id,
                        "settlement": gate.settlement.address if gate else None,
                        "payments": gate is not None,
                        "voucher_header": VOUCHER_HEADER,
                        "default_max_tokens": config.default_max_tokens,
                        "content_policy": {
                            "version": policy.version,
                            "blocked_cids": len(policy.blocked_cids),
                            "blocked_datanets": sorted(
                                s.name for s in served if s.datanet in policy.blocked_datanets
                            ),
                        },
                    },
                }
            ],
        }

    def question_of(
        request: Request,
        body: wire.ChatRequest | wire.CompletionRequest,
        text: str,
        on_text: Callable[[str], None] | None,
        cancelled: threading.Event,
    ) -> Question:
        """Check everything cheap about a request before any work is done for it."""
        config = service.config
        kept = body.model_dump(mode="json", exclude_unset=True)  # what the receipt commits to
        checks.valid_unicode(kept)
        if body.model != model_id:
            raise NodeError(
                f"this node does not serve model {body.model!r}: "
                f"it serves {model_id!r} (see /v1/models)",
                status=404,
                code="model_not_found",
                param="model",
            )
        checks.prompt_size(text, body, config)
        limit = config.max_tokens_limit
        wanted = getattr(body, "max_completion_tokens", None) or body.max_tokens
        max_tokens = min(wanted or config.default_max_tokens, limit)
        stops = checks.stop_strings(body.stop, config.max_stops)
        return Question(
            text,
            kept,
            max_tokens,
            tuple(dict.fromkeys([*config.stop, *stops])),
            voucher=checks.one_voucher(request.headers.getlist(VOUCHER_HEADER)),
            on_text=on_text,
            cancelled=cancelled,
        )

    async def serve(
        request: Request, body: wire.ChatRequest | wire.CompletionRequest, text: str, chat: bool
    ) -> Any:
        cancelled = threading.Event()
        if not body.stream:
            question = question_of(request, body, text, None, cancelled)
            pending = await run_in_threadpool(service.submit, question)
            try:
                completion = await asyncio.wrap_future(pending.future)
                answer = service.complete(question, completion, pending)
                if await request.is_disconnected():  # nobody to deliver to: leave no receipt
                    return JSONResponse({}, status_code=499)
                if answer.receipt:
                    await run_in_threadpool(service.receipts.save, answer.receipt, DELIVERED)
            finally:
                service.release(pending)
            make = wire.chat_body if chat else wire.completion_body
            return make(answer, model_id)

        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str] = asyncio.Queue()
        question = question_of(request, body, text, lambda s: _put(loop, pieces, s), cancelled)
        # errors (unknown model, unpaid, empty datanet, too long) surface before any 200 is sent
        pending = await run_in_threadpool(service.submit, question)
        return StreamingResponse(
            _stream(question, pending, pieces, chat), media_type="text/event-stream"
        )

    async def _stream(
        question: Question, pending: Pending, pieces: asyncio.Queue[str], chat: bool
    ) -> AsyncIterator[str]:
        chunk_id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        saved: Answer | None = None
        delivered = False
        try:
            if chat:
                yield _sse(
                    wire.chat_chunk(chunk_id, model_id, {"role": "assistant", "content": ""})
                )
            done = asyncio.wrap_future(pending.future)
            while not (done.done() and pieces.empty()):
                getter = asyncio.ensure_future(pieces.get())
                await asyncio.wait({getter, done}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    continue
                piece = getter.result()
                yield _sse(
                    wire.chat_chunk(chunk_id, model_id, {"content": piece})
                    if chat
                    else wire.completion_chunk(chunk_id, model_id, piece)
                )
            answer = service.complete(question, done.result(), pending)
            if answer.receipt:  # durable before the last event can reach the client
                await run_in_threadpool(service.receipts.save, answer.receipt, PENDING)
                saved = answer
            last = (
                wire.chat_chunk(chunk_id, model_id, {}, answer.finish_reason)
                if chat
                else wire.completion_chunk(chunk_id, model_id, "", answer.finish_reason)
            )
            yield _sse({**last, **wire.final_extras(answer)})
            yield _sse("[DONE]")
            delivered = True
        finally:
            if not delivered:
                question.cancelled.set()  # stop decoding for a client that went away
            if saved is not None and saved.receipt is not None:
                status = DELIVERED if delivered else UNDELIVERED
                service.receipts.set_status(saved.receipt.id, status)
            service.release(pending)

    @app.post("/v1/chat/completions", responses=wire.ANSWER_RESPONSES)
    async def chat_completions(body: wire.ChatRequest, request: Request) -> Any:
        users = [m for m in body.messages if m.role == "user"]
        if not users:
            raise NodeError(
                "messages hold no user message: add one with the question",
                status=400,
                code="empty_prompt",
                param="messages",
            )
        return await serve(request, body, users[-1].text(), chat=True)

    @app.post("/v1/completions", responses=wire.ANSWER_RESPONSES)
    async def completions(body: wire.CompletionRequest, request: Request) -> Any:
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if len(prompts) != 1:
            raise NodeError(
                f"send exactly one prompt per request, not {len(prompts)}",
                status=400,
                code="invalid_prompt",
                param="prompt",
            )
        return await serve(request, body, prompts[0], chat=False)

    app.state.started = time.time()
    return app

"""POST /v1/chat/completions and /v1/completions: translate, then hand to delivery.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from tessera._crypto.authorization import AUTHORIZATION_HEADER
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node import questions, wire
from tessera._node.delivery import AnswerStream, deliver_whole
from tessera._node.dependencies import Service
from tessera._node.service import NodeService, Question

router = APIRouter()


class EventStream(StreamingResponse):
    """A stream's server-sent events; the stream ends however the response does (a client
    that leaves before the first event too)."""

    def __init__(self, stream: AnswerStream) -> None:
        super().__init__(stream.events(), media_type="text/event-stream")
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.stream.close()


@router.post("/v1/chat/completions", responses=wire.ANSWER_RESPONSES)
async def chat_completions(body: wire.ChatRequest, request: Request, service: Service) -> Any:
    vouchers = request.headers.getlist(VOUCHER_HEADER)
    question = questions.from_chat(body, vouchers, service.config)
    return await _serve(request, service, question, body, chat=True)


@router.post("/v1/completions", responses=wire.ANSWER_RESPONSES)
async def completions(body: wire.CompletionRequest, request: Request, service: Service) -> Any:
    vouchers = request.headers.getlist(VOUCHER_HEADER)
    question = questions.from_completion(body, vouchers, service.config)
    return await _serve(request, service, question, body, chat=False)


async def _serve(
    request: Request,
    service: NodeService,
    question: Question,
    body: wire.ChatRequest | wire.CompletionRequest,
    chat: bool,
) -> Any:
    model = body.model
    signed = request.headers.getlist(AUTHORIZATION_HEADER)
    question = await run_in_threadpool(_admitted, question, model, signed, service)
    if body.stream:
        # refusals (unpaid, empty datanet, too long) raise in open(), before any 200 is sent
        return EventStream(await AnswerStream.open(service, question, wire.SseChunks(model, chat)))
    answer = await deliver_whole(service, question, request.is_disconnected)
    if answer is None:
        return JSONResponse({}, status_code=499)  # the client left: no receipt was kept
    return wire.chat_body(answer, model) if chat else wire.completion_body(answer, model)


def _admitted(question: Question, model: str, signed: list[str], service: NodeService) -> Question:
    """The model first (an unknown one costs the client no authorization), then payment."""
    return questions.authorized(questions.for_model(question, model, service), signed, service)

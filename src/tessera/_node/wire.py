"""OpenAI's wire format: request bodies (pydantic) and response bodies (plain dicts)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from tessera._node.service import Answer, Source, TrainingAttribution


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # accepted and ignored: never kept
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


MAX_TOKENS_BOUND = 2**31  # far above any node's limit; bounds what a client can make us hold
MAX_STOP_CHARS = 256
# the spec states the limits every node has; a node's own (NodeConfig) may be tighter
StopString = Annotated[str, Field(min_length=1, max_length=MAX_STOP_CHARS)]
StopList = Annotated[list[StopString], Field(max_length=16)]


class _Common(BaseModel):
    # clients send fields we accept and ignore; they are neither used nor kept in receipts
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=128)
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=MAX_TOKENS_BOUND)
    stream: StrictBool = False
    stop: StopString | StopList | None = None
    temperature: StrictFloat | None = Field(default=None, ge=0, le=2, allow_inf_nan=False)
    n: StrictInt | None = Field(default=None, ge=1, le=1)
    # vLLM's extra parameter: generate all max_tokens (billed), through end-of-sequence
    # tokens; stop strings still cut. For load tests that need equal work per request
    ignore_eos: StrictBool = False
    user: str | None = Field(default=None, max_length=256)


class ChatRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1, le=MAX_TOKENS_BOUND)


class CompletionRequest(_Common):
    prompt: str | list[str]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    tessera: dict[str, str] | None = None  # on a 402: the amounts required and authorised


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "invalid request"),
        (401, "a paid request without its client's valid authorization (signature)"),
        (402, "payment required: no voucher, a bad one, or not enough authorised or in escrow"),
        (404, "unknown model"),
        (413, "the request body is over the node's max_body_bytes"),
        (422, "nothing to answer from (a datanet without contributions)"),
        (451, "every datanet the node serves is blocked by the content policy"),
        (500, "the node failed"),
        (503, "the chain cannot be read: payment cannot be checked"),
    )
}


ANSWER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the answer, or with `stream: true` its server-sent events",
        "content": {
            "text/event-stream": {  # each event: `data:` a JSON chunk, then `data: [DONE]`
                "schema": {
                    "type": "object",
                    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
                    "required": ["data"],
                }
            }
        },
    },
    **ERROR_RESPONSES,
}
_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}  # a union's branches


def error_param(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """The field a validation error is about, as a client names it: `stop`, not pydantic's
    union branch `stop.str`; `messages.0.content`."""
    parts = [str(p) for p in loc if p != "body"]
    named = [p for p in parts if p not in _TYPE_TAGS and "[" not in p and "-" not in p]
    return ".".join(named) or None


def error_body(
    message: str, code: str | None, param: str | None = None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def source_body(s: Source) -> dict[str, Any]:
    return {
        "cid": s.cid,
        "contributor": s.contributor,
        "datanet": s.datanet_name,
        "datanet_id": s.datanet,
        "weight": s.weight,
        "weight_ppm": s.weight_ppm,
        "effect": round(s.effect, 6),
        "similarity": round(s.similarity, 6),
    }


def training_body(t: TrainingAttribution) -> dict[str, Any]:
    return {
        "available": t.available,
        "method": t.method,
        "paid": t.available and bool(t.sources),
        "share_ppm": t.share_ppm,  # of the contributors' pool, to the sources below
        "weight_bps": t.weight_bps,  # the governed training weight it was measured with
        "sources": [
            {
                "cid": s.cid,
                "contributor": s.contributor,
                "datanet": s.datanet,
                "weight": s.weight,
                "weight_ppm": s.weight_ppm,
                "effect": round(s.effect, 6),
                "withheld": s.withheld,
            }
            for s in t.sources
        ],
        "note": t.note,
    }


WITHHELD_NOTE = (
    "these contributions matched but were not used or paid: the network's content policy "
    "(a passed governance proposal) blocks them"
)


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "attribution": [source_body(s) for s in answer.sources],
        "training_attribution": training_body(answer.training) if answer.training else None,
        "receipt": answer.receipt.to_json() if answer.receipt else None,
        "content_policy": {
            "version": answer.policy.version,
            "withheld": list(answer.policy.withheld),
            "blocked_datanets": list(answer.policy.blocked_datanets),
            "stale": answer.policy.stale,
            **({"note": WITHHELD_NOTE} if answer.policy.withheld else {}),
        },
    }


def usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def chat_body(answer: Answer, model: str) -> dict[str, Any]:
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": answer.finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": answer.text},
            }
        ],
        "usage": usage(answer),
        **_extras(answer),
    }


def completion_body(answer: Answer, model: str) -> dict[str, Any]:
    return {
        "id": answer.id.replace("chatcmpl-", "cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "text": answer.text,
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage(answer),
        **_extras(answer),
    }


def chat_chunk(
    chunk_id: str, model: str, delta: dict[str, Any], finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def completion_chunk(
    chunk_id: str, model: str, text: str, finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}],
    }


def final_extras(answer: Answer) -> dict[str, Any]:
    return {"usage": usage(answer), **_extras(answer)}


def sse(payload: dict[str, Any] | str) -> str:
    """One server-sent event: a JSON chunk, or the closing `[DONE]`."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n"


class SseChunks:
    """The events of one streamed answer as OpenAI sends them: chunks, then `[DONE]`."""

    def __init__(self, model: str, chat: bool) -> None:
        self.model, self.chat = model, chat
        self.id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)

    def opening(self) -> list[str]:
        if not self.chat:
            return []
        return [sse(chat_chunk(self.id, self.model, {"role": "assistant", "content": ""}))]

    def piece(self, text: str) -> str:
        if self.chat:
            return sse(chat_chunk(self.id, self.model, {"content": text}))
        return sse(completion_chunk(self.id, self.model, text))

    def closing(self, answer: Answer) -> list[str]:
        last = (
            chat_chunk(self.id, self.model, {}, answer.finish_reason)
            if self.chat
            else completion_chunk(self.id, self.model, "", answer.finish_reason)
        )
        return [sse({**last, **final_extras(answer)}), sse("[DONE]")]

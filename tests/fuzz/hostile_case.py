"""One hostile request, as data: what to send and what the node must answer; builders for bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tessera._crypto.authorization import AUTHORIZATION_HEADER
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node.config import DEFAULT_MODEL_ID, NodeConfig

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"
HEALTH = "/health"
# the cases about the payment headers, all sent to the chat route
VOUCHER, AUTHORIZATION = VOUCHER_HEADER, AUTHORIZATION_HEADER
ENDPOINTS = (CHAT, COMPLETIONS, MODELS, HEALTH, VOUCHER, AUTHORIZATION)

LIMITS = NodeConfig()  # the node's default limits, which the test node keeps
QUESTION = "Who founded the Ulora Brewery?"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# refusals that need the prompt (its price, its length in tokens): retrieval may run first
PRICED_REFUSALS = {
    "insufficient_voucher",
    "insufficient_escrow",
    "voucher_below_redeemed",
    "context_length_exceeded",
}
ANSWER_TIMEOUT_S = 60.0
SOCKET_TIMEOUT_S = 10.0  # a node that waits for a body it was promised must still answer


@dataclass(frozen=True)
class HostileCase:
    endpoint: str  # the group it is counted under: a route, or a payment header
    name: str
    status: int  # what the node must answer
    code: str | None = None  # the refusal's error.code (None for a 2xx)
    param: str | None = None  # the refusal's error.param, checked when given
    body: bytes = b""
    method: str = "POST"
    path: str | None = None  # None: the endpoint itself
    headers: tuple[tuple[str, str | bytes], ...] = ()
    content_type: str | None = "application/json"
    paid: bool = True  # send the genuine voucher, unless `headers` name the voucher header
    signed: bool = True  # and the client's authorization of the body, unless `headers` name it
    transport: str = "httpx"  # "socket": written by hand; "chunked": by hand, in chunks
    declared_length: int | None = None  # with "socket": a Content-Length that lies

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.name}"

    @property
    def target(self) -> str:
        return self.path or (CHAT if self.endpoint in (VOUCHER, AUTHORIZATION) else self.endpoint)

    @property
    def answers(self) -> bool:
        """A 2xx on a completion route: an answer, paid for, with its receipt."""
        return self.status < 300 and self.method == "POST"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII: a lone surrogate stays the escape "\ud800"


DROP = object()  # a field value that leaves the field out
HOLE = "@@hole@@"  # a field value that `spliced` replaces with raw JSON text


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def chat(**fields: Any) -> bytes:
    body = {"model": DEFAULT_MODEL_ID, "max_tokens": 4, "messages": [user(QUESTION)], **fields}
    return _json({k: v for k, v in body.items() if v is not DROP})


def completion(**fields: Any) -> bytes:
    body = {"model": DEFAULT_MODEL_ID, "max_tokens": 4, "prompt": QUESTION, **fields}
    return _json({k: v for k, v in body.items() if v is not DROP})


def asking(content: Any) -> bytes:
    return chat(messages=[user(content)])


def spliced(body: bytes, raw: str | bytes) -> bytes:
    """`body` with its HOLE value replaced by `raw`, as is: text no encoder would write."""
    return body.replace(_json(HOLE), raw if isinstance(raw, bytes) else raw.encode())


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def padded(body: bytes, size: int) -> bytes:
    """`body` followed by whitespace up to `size` bytes: still the same JSON value."""
    return body + b" " * (size - len(body))


def split_rsv(signature: str) -> tuple[int, int, int]:
    raw = bytes.fromhex(signature.removeprefix("0x"))
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]


def joined_rsv(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])).hex()


def compact_rsv(r: int, s: int, v: int) -> str:
    """EIP-2098: r and (y parity << 255 | s), 64 bytes."""
    return "0x" + (r.to_bytes(32, "big") + (((v - 27) << 255) | s).to_bytes(32, "big")).hex()

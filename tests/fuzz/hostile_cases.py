"""Hand-written hostile requests for the node, as data, and the one way each is judged.

A case says what to send (method, path, the body as raw bytes, headers; for what httpx cannot
send, a lying Content-Length or a chunked body written on a socket) and what the node must
answer: the status and OpenAI error code. `hostile_cases(genuine, client)` builds them all;
the voucher cases are forged from `genuine`, a real voucher that `client` signed for the node.

`run_case` sends one case to a live node and lists what went wrong: the status or code, an
error body not in OpenAI's format, a receipt saved for a refused request, retrieval or
generation run before a refusal, or a node that no longer answers /health.
Used by tests/fuzz/test_hostile.py and bench/hostile.py.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from money_helpers import TSR
from node_helpers import LiveNode, start_node

from tessera.crypto.voucher import VOUCHER_HEADER, Voucher
from tessera.node.config import DEFAULT_MODEL_ID, NodeConfig
from tessera.node.receipt_db import DELIVERED, PENDING, UNDELIVERED

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"
HEALTH = "/health"
VOUCHER = VOUCHER_HEADER  # the cases about the payment header, all sent to the chat route
ENDPOINTS = (CHAT, COMPLETIONS, MODELS, HEALTH, VOUCHER)

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
    endpoint: str  # the group it is counted under: a route, or the voucher header
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
    transport: str = "httpx"  # "socket": written by hand; "chunked": by hand, in chunks
    declared_length: int | None = None  # with "socket": a Content-Length that lies

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.name}"

    @property
    def target(self) -> str:
        return self.path or (CHAT if self.endpoint == VOUCHER else self.endpoint)

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


# /v1/chat/completions -------------------------------------------------------------------------


def _cases_for(endpoint: str):
    """Shorthands for one endpoint's cases: an answer, a refusal, and the common refusals."""

    def answered(name: str, body: bytes, **kw: Any) -> HostileCase:
        return HostileCase(endpoint, name, 200, None, body=body, **kw)

    def refused(name: str, body: bytes, status: int, code: str | None, **kw: Any) -> HostileCase:
        return HostileCase(endpoint, name, status, code, body=body, **kw)

    def bad(name: str, body: bytes, param: str | None = None) -> HostileCase:
        return refused(name, body, 400, "invalid_request", param=param)

    def not_json(name: str, body: bytes, **kw: Any) -> HostileCase:
        return refused(name, body, 400, "invalid_json", **kw)

    return answered, refused, bad, not_json


def chat_cases() -> list[HostileCase]:
    answered, refused, bad, not_json = _cases_for(CHAT)
    max_body, depth, stops = LIMITS.max_body_bytes, LIMITS.max_json_depth, LIMITS.max_stops
    over_chars = "a " * (LIMITS.max_prompt_chars // 2) + "b"
    half_over = [{"type": "text", "text": "y" * (LIMITS.max_prompt_chars // 2 + 1)}] * 2
    many = [user(f"message {i}") for i in range(LIMITS.max_messages - 1)] + [user(QUESTION)]
    hundred_headers = tuple((f"X-H{i}", "v" * 64) for i in range(100))
    long_stops = [f"{i:03}" + "z" * 253 for i in range(stops)]

    def too_deep(name: str, body: bytes) -> HostileCase:
        return refused(name, body, 400, "json_too_deep")

    def too_large(name: str, body: bytes, **kw: Any) -> HostileCase:
        return refused(name, body, 413, "request_too_large", **kw)

    def raw_in_question(name: str, raw: bytes) -> HostileCase:
        return not_json(name, spliced(asking(HOLE), b'"' + raw + b'"'))

    def max_tokens(name: str, text: str) -> HostileCase:
        return bad(name, spliced(chat(max_tokens=HOLE), text), "max_tokens")

    def stop(name: str, value: Any) -> HostileCase:
        return bad(name, chat(stop=value), "stop")

    def unsupported(name: str, body: bytes, content_type: str | None) -> HostileCase:
        return refused(name, body, 415, "unsupported_media_type", content_type=content_type)

    return [
        answered("plain-question", chat()),
        # nesting
        too_deep("200k-open-brackets", b"[" * 200_000),  # once segfaulted the interpreter
        too_deep("100k-open-objects", b'{"a":' * 100_000),
        too_deep("closed-nesting-depth-5000", nested(5000).encode()),
        too_deep(f"depth-{depth + 1}", chat(metadata=json.loads(nested(depth)))),
        answered(f"depth-{depth}", chat(metadata=json.loads(nested(depth - 1)))),
        too_deep("nested-content-parts", asking(json.loads(nested(1000)))),
        answered("brackets-inside-a-string", asking("[{" * 400 + QUESTION)),
        # size
        too_large("body-over-max-bytes", padded(chat(), max_body + 1), transport="socket"),
        answered("body-of-exactly-max-bytes", padded(chat(), max_body)),
        too_large(
            "content-length-claims-2mib", chat(), transport="socket", declared_length=2 * max_body
        ),
        too_large("content-length-beyond-int64", chat(), transport="socket", declared_length=2**64),
        not_json(
            "content-length-shorter-than-body", chat(), transport="socket", declared_length=10
        ),
        too_large("chunked-over-max-bytes", padded(chat(), 2 * max_body), transport="chunked"),
        answered("chunked-small-body", chat(), transport="chunked"),
        refused("question-over-max-chars", asking(over_chars), 400, "prompt_too_long"),
        refused("question-of-a-million-chars", asking("x" * 10**6), 400, "prompt_too_long"),
        refused("question-over-max-chars-in-parts", asking(half_over), 400, "prompt_too_long"),
        bad("too-many-messages", chat(messages=[user("hi"), *many]), "messages"),
        answered("max-messages", chat(messages=many)),
        answered("8kb-header", chat(), headers=(("X-Padding", "p" * 8192),)),
        answered("64kb-header", chat(), headers=(("X-Padding", "p" * 65_536),)),
        answered("100-headers", chat(), headers=hundred_headers),
        # encodings
        raw_in_question("invalid-utf8-byte", b"caf\xff"),
        raw_in_question("latin1-byte", b"caf\xe9"),
        raw_in_question("overlong-slash", b"\xc0\xaf"),
        raw_in_question("overlong-nul", b"\xc0\x80"),
        raw_in_question("utf8-encoded-surrogate", b"\xed\xa0\x80"),
        raw_in_question("truncated-multibyte", b"\xe2\x82"),
        raw_in_question("raw-nul-in-a-string", b"a\x00b"),
        raw_in_question("raw-newline-in-a-string", b"a\nb"),
        not_json("utf8-bom", b"\xef\xbb\xbf" + chat()),
        not_json("utf16le-body", chat().decode().encode("utf-16-le")),
        not_json("utf16-body-with-bom", chat().decode().encode("utf-16")),
        not_json("utf32-body", chat().decode().encode("utf-32")),
        bad("lone-high-surrogate", asking("\ud800" + QUESTION)),
        bad("lone-low-surrogate", asking(QUESTION + "\udc00")),
        bad("reversed-surrogate-pair", asking("\ude00\ud83d" + QUESTION)),
        bad("lone-surrogate-in-model", chat(model="\ud800")),
        answered("surrogate-pair-emoji", asking(QUESTION + " \U0001f600")),
        answered("escaped-nul", asking(QUESTION + "\u0000")),
        answered("bidi-and-zero-width", asking("\u202e\u200b" + QUESTION + "\ufeff")),
        # malformed JSON, or not an object
        not_json("empty-body", b""),
        not_json("whitespace-body", b"  \n "),
        not_json("null", b"null"),
        not_json("array", b"[]"),
        not_json("array-of-requests", b"[" + chat() + b"]"),
        not_json("string", b'"hello"'),
        not_json("number", b"42"),
        not_json("true", b"true"),
        not_json("truncated-object", chat()[:-7]),
        not_json("trailing-garbage", chat() + b"x"),
        not_json("two-objects", chat() + chat()),
        not_json("single-quotes", chat().replace(b'"', b"'")),
        not_json("trailing-comma", chat()[:-1] + b",}"),
        not_json("comment", b"/* hi */" + chat()),
        not_json("nan-temperature", spliced(chat(temperature=HOLE), "NaN")),
        not_json("infinity-max-tokens", spliced(chat(max_tokens=HOLE), "Infinity")),
        not_json("hex-number", spliced(chat(max_tokens=HOLE), "0x10")),
        not_json("leading-zeros", spliced(chat(max_tokens=HOLE), "007")),
        not_json("plus-sign", spliced(chat(max_tokens=HOLE), "+5")),
        # wrong types and schema violations
        bad("no-messages", chat(messages=DROP), "messages"),
        bad("empty-messages", chat(messages=[]), "messages"),
        bad("messages-an-object", chat(messages=user(QUESTION)), "messages"),
        bad("messages-a-string", chat(messages=QUESTION), "messages"),
        bad("message-without-role", chat(messages=[{"content": QUESTION}])),
        bad("unknown-role", chat(messages=[{"role": "root", "content": QUESTION}])),
        bad("content-a-number", asking(42)),
        bad("image-part", asking([{"type": "image_url", "image_url": {"url": "http://x"}}])),
        bad("text-part-a-number", asking([{"type": "text", "text": 7}])),
        bad("no-model", chat(model=DROP), "model"),
        bad("model-a-number", chat(model=270), "model"),
        bad("model-empty", chat(model=""), "model"),
        bad("stream-a-string", chat(stream="true"), "stream"),
        bad("temperature-a-string", chat(temperature="hot"), "temperature"),
        bad("temperature-above-2", chat(temperature=3), "temperature"),
        bad("temperature-true", chat(temperature=True), "temperature"),
        bad("n-of-2", chat(n=2), "n"),
        refused("unknown-model", chat(model="gpt-4o"), 404, "model_not_found", param="model"),
        refused("model-with-nul", chat(model=DEFAULT_MODEL_ID + "\0"), 404, "model_not_found"),
        refused("model-in-capitals", chat(model=DEFAULT_MODEL_ID.upper()), 404, "model_not_found"),
        answered("unknown-fields-ignored", chat(tools=[{"x": 1}], logit_bias={"1": 100})),
        answered("streamed", chat(stream=True)),
        # an empty question
        refused("empty-content", asking(""), 400, "empty_prompt"),
        refused("whitespace-content", asking(" \n\t "), 400, "empty_prompt"),
        refused("null-content", asking(None), 400, "empty_prompt"),
        refused("no-text-parts", asking([]), 400, "empty_prompt"),
        refused(
            "no-user-message",
            chat(messages=[{"role": "system", "content": "hi"}]),
            400,
            "empty_prompt",
        ),
        # number forms of max_tokens
        max_tokens("max-tokens-true", "true"),
        max_tokens("max-tokens-false", "false"),
        max_tokens("max-tokens-float", "4.0"),
        max_tokens("max-tokens-fraction", "4.5"),
        max_tokens("max-tokens-exponent", "1e3"),
        max_tokens("max-tokens-huge-float", "1e400"),
        max_tokens("max-tokens-string", '"4"'),
        max_tokens("max-tokens-zero", "0"),
        max_tokens("max-tokens-minus-zero", "-0"),
        max_tokens("max-tokens-negative", "-1"),
        max_tokens("max-tokens-2-to-64", str(2**64)),
        max_tokens("max-tokens-10-to-30", str(10**30)),
        max_tokens("max-tokens-5000-digits", "9" * 5000),
        max_tokens("max-tokens-a-list", "[4]"),
        bad("max-completion-tokens-1.5", chat(max_completion_tokens=1.5), "max_completion_tokens"),
        answered("max-tokens-null", chat(max_tokens=None)),
        answered("max-tokens-above-the-node-limit", chat(max_tokens=100_000)),
        # stop
        stop("stop-empty", ""),
        stop("stop-list-with-empty", ["x", ""]),
        stop(f"stop-{stops + 1}-strings", [f"s{i}" for i in range(stops + 1)]),
        stop("stop-of-257-chars", "z" * 257),
        stop("stop-a-number", 5),
        stop("stop-list-of-numbers", [1, 2]),
        stop("stop-nested-list", [["x"]]),
        answered(f"stop-{stops}-strings-of-256", chat(stop=long_stops)),
        # duplicated keys: the last one wins, for the check and for the receipt alike
        answered("duplicate-model-last-real", b'{"model":"gpt-4o",' + chat()[1:]),
        refused(
            "duplicate-model-last-unknown",
            chat()[:-1] + b',"model":"gpt-4o"}',
            404,
            "model_not_found",
        ),
        # content types and methods
        unsupported("text-plain", chat(), "text/plain"),
        unsupported("form-urlencoded", b"model=x", "application/x-www-form-urlencoded"),
        unsupported("multipart", b"--b--", "multipart/form-data; boundary=b"),
        unsupported("no-content-type", chat(), None),
        refused("method-get", b"", 405, None, method="GET", content_type=None),
        refused("method-put", chat(), 405, None, method="PUT"),
    ]


# /v1/completions ------------------------------------------------------------------------------


def completion_cases() -> list[HostileCase]:
    answered, refused, bad, not_json = _cases_for(COMPLETIONS)
    max_body, stops = LIMITS.max_body_bytes, LIMITS.max_stops
    return [
        answered("plain-prompt", completion()),
        answered("one-prompt-in-a-list", completion(prompt=[QUESTION])),
        answered("streamed", completion(stream=True)),
        answered("unknown-fields-ignored", completion(echo=True, logprobs=5, suffix="!")),
        refused("200k-open-brackets", b"[" * 200_000, 400, "json_too_deep"),
        refused("nested-prompt", completion(prompt=json.loads(nested(40))), 400, "json_too_deep"),
        refused(
            "body-over-max-bytes",
            padded(completion(), max_body + 1),
            413,
            "request_too_large",
            transport="socket",
        ),
        refused(
            "chunked-over-max-bytes",
            padded(completion(), 2 * max_body),
            413,
            "request_too_large",
            transport="chunked",
        ),
        refused(
            "prompt-over-max-chars",
            completion(prompt="p" * (LIMITS.max_prompt_chars + 1)),
            400,
            "prompt_too_long",
        ),
        refused("empty-prompt", completion(prompt=""), 400, "empty_prompt"),
        refused("no-prompts", completion(prompt=[]), 400, "invalid_prompt", param="prompt"),
        refused(
            "two-prompts",
            completion(prompt=[QUESTION, QUESTION]),
            400,
            "invalid_prompt",
            param="prompt",
        ),
        bad("no-prompt", completion(prompt=DROP), "prompt"),
        bad("prompt-a-number", completion(prompt=7), "prompt"),
        bad("prompt-token-ids", completion(prompt=[1, 2, 3]), "prompt"),
        bad("prompt-lone-surrogate", completion(prompt=QUESTION + "\ud800")),
        bad("max-tokens-true", completion(max_tokens=True), "max_tokens"),
        bad("max-tokens-float", completion(max_tokens=8.0), "max_tokens"),
        bad("max-tokens-string", completion(max_tokens="8"), "max_tokens"),
        bad("max-tokens-zero", completion(max_tokens=0), "max_tokens"),
        bad("max-tokens-negative", completion(max_tokens=-5), "max_tokens"),
        bad("max-tokens-2-to-64", completion(max_tokens=2**64), "max_tokens"),
        bad("stop-empty", completion(stop=""), "stop"),
        bad("stop-too-many", completion(stop=[str(i) for i in range(stops + 1)]), "stop"),
        bad("stop-too-long", completion(stop=["w" * 257]), "stop"),
        refused(
            "unknown-model", completion(model="davinci-002"), 404, "model_not_found", param="model"
        ),
        not_json("not-json", b"prompt=hello"),
        not_json("array", b"[" + completion() + b"]"),
        not_json("invalid-utf8", spliced(completion(prompt=HOLE), b'"\xfe\xff"')),
    ]


# /v1/models and /health -----------------------------------------------------------------------


def listing_cases() -> list[HostileCase]:
    def get(endpoint: str, name: str, status: int = 200, **kw) -> HostileCase:
        kw.setdefault("content_type", None)
        kw.setdefault("method", "GET")
        return HostileCase(endpoint, name, status, None, **kw)

    junk_query = "?" + "&".join(f"k{i}=%00%ff%2e%2e" for i in range(200))
    return [
        get(MODELS, "plain"),
        get(MODELS, "junk-query", path=MODELS + junk_query),
        get(MODELS, "8kb-query", path=MODELS + "?q=" + "q" * 8192),
        get(MODELS, "with-a-json-body", body=chat(), content_type="application/json"),
        get(MODELS, "with-a-garbled-voucher", paid=False, headers=((VOUCHER_HEADER, "{[[["),)),
        get(MODELS, "accept-html", headers=(("Accept", "text/html"),)),
        get(MODELS, "8kb-header", headers=(("X-Padding", "m" * 8192),)),
        get(MODELS, "post", 405, method="POST", body=b"{}", content_type="application/json"),
        get(MODELS, "delete", 405, method="DELETE"),
        get(MODELS, "unknown-route", 404, path="/v1/embeddings"),
        get(MODELS, "dot-dot-route", 404, path="/v1/../../etc/passwd"),
        get(HEALTH, "plain"),
        get(HEALTH, "junk-query", path=HEALTH + junk_query),
        get(HEALTH, "8kb-header", headers=(("X-Padding", "h" * 8192),)),
        get(HEALTH, "64kb-header", headers=(("X-Padding", "h" * 65_536),)),
        get(HEALTH, "100-headers", headers=tuple((f"X-H{i}", "v" * 64) for i in range(100))),
        get(HEALTH, "with-a-huge-body", body=b"[" * 200_000, content_type="application/json"),
        get(HEALTH, "post", 405, method="POST", body=b"[[[[", content_type="application/json"),
        get(HEALTH, "options", 405, method="OPTIONS"),
        get(HEALTH, "patch", 405, method="PATCH", body=chat(), content_type="application/json"),
    ]


# the X-Tessera-Voucher header -----------------------------------------------------------------


def voucher_cases(genuine: Voucher, client: LocalAccount) -> list[HostileCase]:
    """Forged from `genuine` (signed by `client` for the node under test)."""
    fields = {
        "client": genuine.client,
        "node": genuine.node,
        "amount": str(genuine.amount),
        "chain_id": genuine.chain_id,
        "settlement": genuine.settlement,
        "signature": genuine.signature,
    }
    header = json.dumps(fields, separators=(",", ":"))  # the form tessera.client sends
    amount, chain_id = str(genuine.amount), genuine.chain_id
    stranger = Account.from_key(b"\x07" * 32)
    r, s, v = _rsv(genuine.signature)

    def sent(name: str, value: str | bytes | None, status: int = 402, code: str | None = None):
        headers = () if value is None else ((VOUCHER_HEADER, value),)
        code = code or ("invalid_voucher" if status == 402 else None)
        return HostileCase(VOUCHER, name, status, code, body=chat(), headers=headers, paid=False)

    def changed(**changes: Any) -> str:
        return json.dumps({**fields, **changes}, separators=(",", ":"))

    def resigned(**changes: Any) -> str:
        return replace(genuine, **changes).signed_by(client).to_header()

    def amount_as(text: str) -> str:
        return header.replace(f'"amount":"{amount}"', f'"amount":{text}')

    def chain_id_as(text: str) -> str:
        return header.replace(f'"chain_id":{chain_id}', f'"chain_id":{text}')

    def signature(value: Any) -> str:
        return changed(signature=value)

    def unfunded(**changes: Any) -> str:
        return replace(genuine, client=stranger.address, **changes).signed_by(stranger).to_header()

    by_stranger = replace(genuine, client=stranger.address).signed_by(stranger)
    pad = max(0, LIMITS.max_voucher_bytes - len(header))
    twin_v = 55 - v  # 27 <-> 28
    return [
        sent("genuine", header, 200),
        sent("genuine-with-lowercase-addresses", header.lower(), 200),
        sent("eip2098-compact-signature", signature(_compact(r, s, v)), 200),
        sent("padded-to-exactly-the-limit", header[:1] + " " * pad + header[1:], 200),
        sent("duplicate-amount-last-genuine", '{"amount":"1",' + header[1:], 200),
        sent("absent", None, code="payment_required"),
        sent("empty", "", code="payment_required"),
        sent("genuine-padded-past-the-limit", header[:1] + " " * (pad + 1) + header[1:]),
        sent("8kb-of-junk", "j" * 8192),
        sent("64kb-of-junk", "j" * 65_536),
        sent("not-json", "voucher please"),
        sent("truncated-json", header[:-9]),
        sent("json-array", f"[{header}]"),
        sent("json-string", json.dumps(header)),
        sent("json-null", "null"),
        sent("json-number", "10000000000000000000"),
        sent("nested-600-deep", nested(600)),
        sent("wrapped-in-an-object", json.dumps({"voucher": fields})),
        sent("client-an-object", changed(client={"client": fields["client"]})),
        sent("client-nested-lists", changed(client=json.loads(nested(200, '"0x"')))),
        sent("not-latin1-safe", b"\xff\xfe" + header.encode()),
        sent("utf8-in-the-client", header.replace('"0x', '"0x\u00e9', 1).encode()),
        *(sent(f"no-{name}", _without(fields, name)) for name in fields),
        sent("duplicate-amount-last-forged", header[:-1] + ',"amount":"1"}'),
        # amount forms: most parse, in a lax parser, to the amount that was signed
        sent("amount-json-float", amount_as(f"{amount}.0")),
        sent("amount-json-exponent", amount_as(_exponent(amount))),
        sent("amount-string-exponent", amount_as(f'"{_exponent(amount)}"')),
        sent("amount-string-decimal", amount_as(f'"{amount}.0"')),
        sent("amount-negative", amount_as('"-1"')),
        sent("amount-underscores", amount_as(f'"{int(amount):_}"')),
        sent("amount-leading-space", amount_as(f'" {amount}"')),
        sent("amount-trailing-newline", amount_as(f'"{amount}\\n"')),
        sent("amount-leading-plus", amount_as(f'"+{amount}"')),
        sent("amount-hex", amount_as(f'"{int(amount):#x}"')),
        sent("amount-arabic-indic-digits", amount_as(json.dumps(_digits(amount, 0x0660)))),
        sent("amount-fullwidth-digits", amount_as(json.dumps(_digits(amount, 0xFF10)))),
        sent("amount-2-to-256", amount_as(f'"{2**256}"')),
        sent("amount-100-digits", amount_as('"' + "9" * 100 + '"')),
        sent("amount-empty", amount_as('""')),
        sent("amount-true", amount_as("true")),
        sent("amount-null", amount_as("null")),
        sent("amount-a-list", amount_as(f'["{amount}"]')),
        # chain_id forms
        sent("chain-id-true", chain_id_as("true")),
        sent("chain-id-float", chain_id_as(f"{chain_id}.0")),
        sent("chain-id-exponent", chain_id_as(f"{chain_id}e0")),
        sent("chain-id-negative", chain_id_as(f"-{chain_id}")),
        sent("chain-id-2-to-256", chain_id_as(str(2**256))),
        # addresses
        sent("client-bad-checksum", changed(client=_miscased(fields["client"]))),
        sent("node-bad-checksum", changed(node=_miscased(fields["node"]))),
        sent("settlement-bad-checksum", changed(settlement=_miscased(fields["settlement"]))),
        sent("client-without-0x", changed(client=fields["client"][2:])),
        sent("client-39-hex-digits", changed(client=fields["client"][:-1])),
        sent("client-41-hex-digits", changed(client=fields["client"] + "0")),
        sent("client-not-hex", changed(client=fields["client"][:-1] + "g")),
        sent("client-with-spaces", changed(client=f" {fields['client']} ")),
        sent("client-a-number", changed(client=int(fields["client"], 16))),
        sent("client-zero-address", changed(client="0x" + "00" * 20)),
        sent("client-swapped", changed(client=stranger.address)),
        # signature forms of the genuine signature
        sent("signature-v-as-0-1", signature(_sig(r, s, v - 27))),
        sent("signature-high-s-twin", signature(_sig(r, SECP256K1_N - s, twin_v))),
        sent("signature-high-s-twin-v-0-1", signature(_sig(r, SECP256K1_N - s, twin_v - 27))),
        sent("signature-v-flipped", signature(_sig(r, s, twin_v))),
        sent("signature-v-29", signature(_sig(r, s, 29))),
        sent("signature-v-eip155", signature(_sig(r, s, 37))),
        sent("signature-r-zero", signature(_sig(0, s, v))),
        sent("signature-s-zero", signature(_sig(r, 0, v))),
        sent("signature-r-n", signature(_sig(SECP256K1_N, s, v))),
        sent("signature-s-n", signature(_sig(r, SECP256K1_N, v))),
        sent("signature-s-half-n-plus-1", signature(_sig(r, SECP256K1_N // 2 + 1, v))),
        sent("signature-compact-wrong-parity", signature(_compact(r, s, twin_v))),
        sent("signature-65-zero-bytes", signature("0x" + "00" * 65)),
        sent("signature-64-zero-bytes", signature("0x" + "00" * 64)),
        sent("signature-63-bytes", signature(genuine.signature[: 2 + 126])),
        sent("signature-66-bytes", signature(genuine.signature + "00")),
        sent("signature-doubled", signature(genuine.signature + genuine.signature[2:])),
        sent("signature-odd-hex-length", signature(genuine.signature[:-1])),
        sent("signature-not-hex", signature(genuine.signature[:-2] + "zz")),
        sent("signature-0x-only", signature("0x")),
        sent("signature-empty", signature("")),
        sent("signature-a-number", signature(int(genuine.signature, 16))),
        sent("signature-a-list", signature(list(bytes.fromhex(genuine.signature[2:])))),
        sent("signature-by-a-stranger", changed(signature=by_stranger.signature)),
        sent("amount-raised-after-signing", changed(amount=str(genuine.amount + 1))),
        # genuine signatures, for somewhere else or for too little
        sent("for-another-node", resigned(node=stranger.address)),
        sent("for-another-chain", resigned(chain_id=chain_id + 1)),
        sent("for-another-settlement", resigned(settlement=stranger.address)),
        # genuine, but from a client with nothing in escrow
        sent("stranger-for-one-unit", unfunded(amount=1), code="insufficient_voucher"),
        sent("stranger-without-escrow", unfunded(), code="insufficient_escrow"),
        HostileCase(
            VOUCHER,
            "two-voucher-headers",
            402,
            "invalid_voucher",
            body=chat(),
            headers=((VOUCHER_HEADER, header), (VOUCHER_HEADER, changed(amount="1"))),
            paid=False,
        ),
    ]


def _rsv(signature: str) -> tuple[int, int, int]:
    raw = bytes.fromhex(signature.removeprefix("0x"))
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]


def _sig(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])).hex()


def _compact(r: int, s: int, v: int) -> str:
    """EIP-2098: r and (y parity << 255 | s), 64 bytes."""
    return "0x" + (r.to_bytes(32, "big") + (((v - 27) << 255) | s).to_bytes(32, "big")).hex()


def _without(fields: dict[str, Any], name: str) -> str:
    return json.dumps({k: v for k, v in fields.items() if k != name})


def _exponent(number: str) -> str:
    """1E+19 for 10000000000000000000: the same integer, in exponent form."""
    mantissa = number.rstrip("0")
    return f"{mantissa}E+{len(number) - len(mantissa)}"


def _digits(number: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in number)


def _miscased(address: str) -> str:
    """The checksummed `address` with one letter's case flipped: a wrong EIP-55 checksum."""
    at = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:at] + address[at].swapcase() + address[at + 1 :]


def hostile_cases(genuine: Voucher, client: LocalAccount) -> list[HostileCase]:
    return [
        *chat_cases(),
        *completion_cases(),
        *listing_cases(),
        *voucher_cases(genuine, client),
    ]


def stand_in_cases() -> list[HostileCase]:
    """The same cases forged from a stand-in voucher: their ids, before any node exists."""
    client, node = Account.from_key(b"\x01" * 32), Account.from_key(b"\x02" * 32)
    settlement = Account.from_key(b"\x03" * 32).address
    genuine = Voucher(client.address, node.address, 10 * TSR, 31337, settlement)
    return hostile_cases(genuine.signed_by(client), client)


# the node under attack ------------------------------------------------------------------------


def start_paying_node(folder: Path, generator: Any, embedder: Any) -> LiveNode:
    """A paying node whose account "client" holds 50 TSR in escrow. It never settles (what a
    client owes stays put while cases run) and answers in at most 16 tokens (fuzzing spends
    its time on requests, not on decoding)."""
    node = start_node(
        folder, generator, embedder, payments=True, settle_check_s=None, max_tokens_limit=16
    )
    node.t.new_account("client")
    node.t.transfer(100 * TSR, "client")
    node.t.deposit(50 * TSR, "client")
    return node


def budget_voucher(node: LiveNode) -> Voucher:
    """10 TSR from "client": far more than every case together spends."""
    return node.t.sign_voucher(node.service.node_key.address, 10 * TSR, "client")


# sending a case and judging the answer --------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    case: HostileCase
    reply: Reply | None  # None: no answer at all
    problems: tuple[str, ...]

    @property
    def survived(self) -> bool:
        """The node survived and answered with exactly the refusal (or answer) due."""
        return not self.problems

    def describe(self) -> str:
        reply = self.reply
        got = "no answer" if reply is None else f"{reply.status} {reply.body[:400]!r}"
        expected = f"{self.case.status} {self.case.code}"
        return f"{self.case.id}: expected {expected}, got {got}: " + "; ".join(self.problems)


@dataclass
class Work:
    retrievals: int = 0
    generations: int = 0


@contextmanager
def counting_work(service: Any) -> Iterator[Work]:
    """Count retrievals and generations the node starts while the block runs."""
    work, retrieve, submit = Work(), service.retrieve, service.engine.submit

    def counted_retrieve(*args: Any, **kwargs: Any) -> Any:
        work.retrievals += 1
        return retrieve(*args, **kwargs)

    def counted_submit(*args: Any, **kwargs: Any) -> Any:
        work.generations += 1
        return submit(*args, **kwargs)

    service.retrieve, service.engine.submit = counted_retrieve, counted_submit
    try:
        yield work
    finally:
        del service.retrieve, service.engine.submit


def receipt_total(service: Any) -> int:
    return sum(service.receipts.count(status) for status in (PENDING, DELIVERED, UNDELIVERED))


def run_case(case: HostileCase, live: LiveNode, voucher_header: str) -> Outcome:
    service = live.service
    before = receipt_total(service)
    with counting_work(service) as work:
        try:
            reply = _send(case, live.url, _headers(case, voucher_header))
        except (httpx.HTTPError, OSError, h11.ProtocolError) as exc:
            problems = [f"no answer ({type(exc).__name__}: {exc})"]
            return Outcome(case, None, (*problems, *_health_problems(live)))
    problems = judge(case, reply)
    saved = receipt_total(service) - before
    if case.answers and saved != 1:
        problems.append(f"an answer saved {saved} receipts, not 1")
    if not case.answers and saved:
        problems.append(f"{saved} receipt(s) saved for a request that was not answered")
    if reply.status >= 400:
        if work.generations:
            problems.append("generation ran for a refused request")
        if work.retrievals and case.code not in PRICED_REFUSALS:
            problems.append("retrieval ran before the refusal")
    return Outcome(case, reply, (*problems, *_health_problems(live)))


def judge(case: HostileCase, reply: Reply) -> list[str]:
    """What is wrong with `reply` as the answer to `case` (empty: nothing)."""
    problems = [] if reply.status == case.status else [f"status {reply.status}"]
    if reply.status >= 400:
        problems += _error_problems(case, reply)
    elif reply.content_type.startswith("text/event-stream"):
        if not reply.body.rstrip().endswith(b"data: [DONE]"):
            problems.append("the stream does not end with [DONE]")
    else:
        body = _parsed(reply.body)
        if not isinstance(body, dict) or (case.method == "POST" and "choices" not in body):
            problems.append("a 2xx whose body is not the JSON answer")
    return problems


def _error_problems(case: HostileCase, reply: Reply) -> list[str]:
    body = _parsed(reply.body)
    error = body.get("error") if isinstance(body, dict) else None
    if not reply.content_type.startswith("application/json") or not isinstance(error, dict):
        return ["the error is not OpenAI's {'error': {...}} JSON"]
    problems = []
    if set(body) != {"error"}:
        problems.append(f"the error body has more than 'error': {sorted(body)}")
    kind = "invalid_request_error" if reply.status < 500 else "server_error"
    if not (isinstance(error.get("message"), str) and error["message"]):
        problems.append("error.message is not a non-empty string")
    if error.get("type") != kind:
        problems.append(f"error.type is {error.get('type')!r}, not {kind!r}")
    for name in ("param", "code"):
        if name not in error or not isinstance(error[name], str | None):
            problems.append(f"error.{name} is not a string or null")
    if error.get("code") != case.code:
        problems.append(f"error.code is {error.get('code')!r}")
    if case.param is not None and error.get("param") != case.param:
        problems.append(f"error.param is {error.get('param')!r}, not {case.param!r}")
    return problems


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _health_problems(live: LiveNode) -> list[str]:
    if not live.thread.is_alive():
        return ["the server thread died"]
    try:
        health = httpx.get(live.url + HEALTH, timeout=ANSWER_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return [f"/health does not answer afterwards ({type(exc).__name__})"]
    if health.status_code != 200:
        return [f"/health answers {health.status_code} afterwards"]
    if health.json().get("receipts") != live.service.receipts.count():
        return ["/health counts other receipts than the node holds"]
    return []


def _headers(case: HostileCase, voucher_header: str) -> list[tuple[str, str | bytes]]:
    headers: list[tuple[str, str | bytes]] = []
    if case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    named = {name.lower() for name, _ in case.headers}
    if case.paid and VOUCHER_HEADER.lower() not in named:
        headers.append((VOUCHER_HEADER, voucher_header))
    return headers + list(case.headers)


def _send(case: HostileCase, url: str, headers: list[tuple[str, str | bytes]]) -> Reply:
    if case.transport != "httpx":
        return _send_by_hand(case, url, headers)
    with httpx.Client(base_url=url, timeout=ANSWER_TIMEOUT_S) as client:
        response = client.request(case.method, case.target, content=case.body, headers=headers)
        return Reply(
            response.status_code, response.headers.get("content-type", ""), response.content
        )


CHUNK_BYTES = 64 * 1024


def _send_by_hand(case: HostileCase, url: str, headers: list[tuple[str, str | bytes]]) -> Reply:
    """Write the request on a socket: chunked, or with a Content-Length that may lie. Stops
    writing as soon as the node answers (a refusal need not read the whole body)."""
    host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80
    lines = [f"{case.method} {case.target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head = "\r\n".join(lines).encode()
    for name, value in headers:
        head += f"\r\n{name}: ".encode() + (value if isinstance(value, bytes) else value.encode())
    if case.transport == "chunked":
        head += b"\r\nTransfer-Encoding: chunked"
        pieces = [_chunk(piece) for piece in _pieces(case.body)] + [b"0\r\n\r\n"]
    else:
        length = len(case.body) if case.declared_length is None else case.declared_length
        head += f"\r\nContent-Length: {length}".encode()
        pieces = _pieces(case.body)
    with socket.create_connection((host, port), timeout=SOCKET_TIMEOUT_S) as sock:
        try:
            sock.sendall(head + b"\r\n\r\n")
            for piece in pieces:
                if select.select([sock], [], [], 0)[0]:
                    break  # the node answered already
                sock.sendall(piece)
        except OSError:
            pass  # the node refused and closed before reading it all: read what it said
        return _read_reply(sock, case.method)


def _pieces(body: bytes) -> list[bytes]:
    return [body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)]


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _read_reply(sock: socket.socket, method: str) -> Reply:
    parser = h11.Connection(h11.CLIENT)
    parser.send(h11.Request(method=method, target="/", headers=[("Host", "node")]))
    parser.send(h11.EndOfMessage())
    status, content_type, body = 0, "", bytearray()
    deadline = time.monotonic() + SOCKET_TIMEOUT_S
    while time.monotonic() < deadline:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            try:
                parser.receive_data(sock.recv(CHUNK_BYTES))
            except ConnectionResetError:
                parser.receive_data(b"")
        elif isinstance(event, h11.Response):
            status = event.status_code
            content_type = dict(event.headers).get(b"content-type", b"").decode("latin-1")
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if not status:
        raise TimeoutError("the node sent no status line")
    return Reply(status, content_type, bytes(body))

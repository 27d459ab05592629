"""Hostile cases for the routes: bodies, nesting, sizes, encodings, number forms, types."""

from __future__ import annotations

import json
from typing import Any

from hostile_case import (
    CHAT,
    COMPLETIONS,
    DROP,
    HEALTH,
    HOLE,
    LIMITS,
    MODELS,
    QUESTION,
    HostileCase,
    asking,
    chat,
    completion,
    nested,
    padded,
    spliced,
    user,
)

from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node.config import DEFAULT_MODEL_ID

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

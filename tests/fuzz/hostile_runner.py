"""Send a hostile case to a live node and judge the answer; the node under attack."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx
from hostile_case import (
    ANSWER_TIMEOUT_S,
    HEALTH,
    LIMITS,
    PRICED_REFUSALS,
    SOCKET_TIMEOUT_S,
    HostileCase,
)
from money_helpers import TSR
from node_helpers import LiveNode, start_node
from paid_requests import authorization, kept_request

from tessera._crypto.authorization import AUTHORIZATION_HEADER
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher
from tessera._node.limits import json_depth, strict_json
from tessera._payments.ledger import DELIVERED, PENDING, UNDELIVERED

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
    node.t.deposit(50 * TSR, node.service.node_key.address, "client")
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
            reply = _send(case, live.url, _headers(case, live, voucher_header))
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


def _headers(
    case: HostileCase, live: LiveNode, voucher_header: str
) -> list[tuple[str, str | bytes]]:
    headers: list[tuple[str, str | bytes]] = []
    if case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    named = {name.lower() for name, _ in case.headers}
    if case.paid and VOUCHER_HEADER.lower() not in named:
        headers.append((VOUCHER_HEADER, voucher_header))
    request = _kept(case)
    if case.signed and AUTHORIZATION_HEADER.lower() not in named and request is not None:
        node = live.service.node_key.address
        headers.append((AUTHORIZATION_HEADER, authorization(live.t, node, request)))
    return headers + list(case.headers)


def _kept(case: HostileCase) -> dict[str, Any] | None:
    """What the node keeps of the case's body, parsed the way the node parses it; None where
    it refuses the body unread (too deep, not JSON: the parser must not recurse into those)."""
    if json_depth(case.body) > LIMITS.max_json_depth:
        return None
    try:
        value = json.loads(strict_json(case.body))
    except ValueError:
        return None
    return kept_request(case.target.split("?")[0], value)


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

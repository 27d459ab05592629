"""A small client for a Tessera node: ask a question, get the answer, its sources and receipt."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_utils import keccak, to_checksum_address

from tessera._crypto.authorization import (
    AUTHORIZATION_HEADER,
    ClientAuthorization,
    authorize_request,
)
from tessera._crypto.receipt import Receipt, canonical_json
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher
from tessera._errors import InputError, NodeError, SignatureError
from tessera._payments.payer import Payer

DEFAULT_NODE_URL = "http://127.0.0.1:8000"
CONNECT_TIMEOUT_S = 2.0  # a node that does not accept within this is down, as far as we care


@dataclass(frozen=True)
class Quote:
    """A request for one node: its body, the node's address (None: the node charges nothing)
    and the most it can cost there (a full context window in, max_tokens out)."""

    payload: dict[str, Any]
    node: str | None
    up_to: int


@dataclass(frozen=True)
class AskResult:
    text: str
    sources: list[dict[str, Any]]  # every retrieved contribution with its weight
    receipt: Receipt | None
    body: dict[str, Any]
    saved: Path | None = None  # where `Tessera.ask` kept the receipt, once it checked out
    node: str = ""  # the URL of the node that answered (set when the network chose it)
    passed_over: tuple[tuple[str, str], ...] = ()  # (node, why) for each node not used

    @property
    def withheld(self) -> list[str]:
        """CIDs that matched but were not used: blocked by the network's content policy."""
        return list(self.body.get("content_policy", {}).get("withheld", []))


class NodeClient:
    """Ask a node. With a `payer` (`Tessera.payer()`), every request carries a voucher."""

    def __init__(
        self,
        base_url: str = DEFAULT_NODE_URL,
        timeout: float = 600,
        payer: Payer | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # the node sends its answer whole once done: the read timeout bounds the whole answer
        bounds = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self.http = httpx.Client(base_url=self.base_url, timeout=bounds)
        self.payer = payer

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise NodeError(
                f"cannot reach the node at {self.base_url} ({type(exc).__name__}): "
                "start one with `tessera node start` or pass --node URL"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise NodeError(
                f"the node answered {response.status_code}: "
                f"{error.get('message') or response.text[:200]}",
                status=response.status_code,
                code=error.get("code"),
                param=error.get("param"),
                details=error.get("tessera"),
            )
        return body

    def models(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/models")["data"])

    def ask(
        self,
        question: str,
        model: str | None = None,
        max_tokens: int | None = None,
        ignore_eos: bool = False,
    ) -> AskResult:
        """Ask with the node's first model or `model`; `ignore_eos` asks for all max_tokens."""
        request = self.quote(question, model, max_tokens, ignore_eos)
        if not (self.payer and request.node):
            with _their_fault(self.base_url):
                return self._ask(request.payload, {})
        voucher = self.payer.authorise(request.node, request.up_to)
        return self.send(request, voucher, sign_request(self.payer, request.node, request.payload))

    def quote(
        self,
        question: str,
        model: str | None = None,
        max_tokens: int | None = None,
        ignore_eos: bool = False,
    ) -> Quote:
        """The request body this node is sent for `question`, and what it may cost there."""
        with _their_fault(self.base_url):
            models = self.models()
            info = next((m for m in models if m["id"] == model), models[0]) if model else models[0]
            payload: dict[str, Any] = {
                "model": info["id"],
                "messages": [{"role": "user", "content": question}],
            }
            if max_tokens:
                payload["max_tokens"] = max_tokens
            if ignore_eos:
                payload["ignore_eos"] = True
            tessera = info.get("tessera") or {}
            if not tessera.get("payments"):
                return Quote(payload, None, 0)
            # the most this request can cost: a full context window in, max_tokens out
            pricing = info["pricing"]
            out_tokens = max_tokens or int(tessera["default_max_tokens"])
            up_to = int(info["context_window"]) * int(pricing["input_token"]) + out_tokens * int(
                pricing["output_token"]
            )
            return Quote(payload, to_checksum_address(tessera["node"]), up_to)

    def send(
        self, request: Quote, voucher: Voucher, authorization: ClientAuthorization
    ) -> AskResult:
        """Send a quoted paid request with its client's signatures, however they were made,
        once the payer holds its price (`authorise` or `reserve`): the hold is settled on
        every path, by the receipt's price when one comes back."""
        if self.payer is None or request.node is None:
            raise InputError("only a paid node's quote is sent signed, by a client with a payer")
        headers = {
            VOUCHER_HEADER: voucher.to_header(),
            AUTHORIZATION_HEADER: authorization.to_header(),
        }
        result = None
        try:
            with _their_fault(self.base_url):
                result = self._ask(request.payload, headers)
        finally:
            _settle(self.payer, request.node, request.up_to, result.receipt if result else None)
        return result

    def _ask(self, payload: dict[str, Any], headers: dict[str, str]) -> AskResult:
        body = self._request("POST", "/v1/chat/completions", json=payload, headers=headers)
        receipt = Receipt.from_json(body["receipt"]) if body.get("receipt") else None
        return AskResult(
            body["choices"][0]["message"]["content"], body.get("attribution", []), receipt, body
        )

    def close(self) -> None:
        self.http.close()


def request_hash(body: dict[str, Any]) -> bytes:
    """What a client signs of a request body: the receipt's `request_hash`."""
    return keccak(canonical_json(body))


def sign_request(payer: Payer, node: str, body: dict[str, Any]) -> ClientAuthorization:
    """The payer's authorization of one request body for `node`, with a fresh nonce: the node
    refuses a paid request without it, and its receipt carries it."""
    hashed = request_hash(body)
    return authorize_request(payer.signer(), payer.chain_id, payer.registry, node, hashed)


@contextmanager
def _their_fault(base_url: str) -> Iterator[None]:
    """A peer's malformed body is the peer's fault: the caller may ask another node."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise NodeError(
            f"the node at {base_url} sent a body that is not a Tessera answer: ask another node",
            status=502,
            code="bad_node_answer",
        ) from None


class PaidRequests(httpx.Auth):
    """Pays every request an httpx client sends to one node, e.g. the `openai` package's
    (`OpenAI(base_url=..., http_client=httpx.Client(auth=PaidRequests(payer, node, voucher)))`):
    the budget voucher given, and the payer's signature of each JSON body as sent. Send only
    fields the node keeps (OpenAI's own): it signs what it answers, and refuses the rest."""

    requires_request_body = True

    def __init__(self, payer: Payer, node: str, voucher: Voucher) -> None:
        self.payer, self.node, self.voucher = payer, node, voucher.to_header()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.content:
            body = json.loads(request.content)
            request.headers[VOUCHER_HEADER] = self.voucher
            signed = sign_request(self.payer, self.node, body)
            request.headers[AUTHORIZATION_HEADER] = signed.to_header()
        yield request


def _settle(payer: Payer, node: str, up_to: int, receipt: Receipt | None) -> None:
    """Close a request's reservation on every path: a receipt the payer refuses (it bills
    someone else) still drops it, so an undelivered request leaves no debt behind."""
    try:
        payer.settle(node, up_to, receipt)
    except SignatureError:
        payer.settle(node, up_to, None)
        raise

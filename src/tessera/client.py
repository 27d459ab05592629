"""A small client for a Tessera node: ask a question, get the answer, its sources and receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tessera.crypto.receipt import Receipt
from tessera.errors import TesseraError

DEFAULT_NODE_URL = "http://127.0.0.1:8000"


class NodeError(TesseraError):
    """The node refused a request or could not be reached."""


@dataclass(frozen=True)
class AskResult:
    text: str
    sources: list[dict[str, Any]]  # every retrieved contribution with its weight
    receipt: Receipt | None
    body: dict[str, Any]


class NodeClient:
    def __init__(self, base_url: str = DEFAULT_NODE_URL, timeout: float = 600) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

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
            message = body.get("error", {}).get("message") if isinstance(body, dict) else None
            raise NodeError(
                f"the node answered {response.status_code}: {message or response.text[:200]}"
            )
        return body

    def models(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/models")["data"])

    def ask(
        self, question: str, model: str | None = None, max_tokens: int | None = None
    ) -> AskResult:
        model = model or self.models()[0]["id"]
        payload: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": question}],
        }
        if max_tokens:
            payload["max_tokens"] = max_tokens
        body = self._request("POST", "/v1/chat/completions", json=payload)
        receipt = Receipt.from_json(body["receipt"]) if body.get("receipt") else None
        return AskResult(
            body["choices"][0]["message"]["content"], body.get("attribution", []), receipt, body
        )

    def close(self) -> None:
        self.http.close()

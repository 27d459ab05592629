"""The client's journey: ask, then read the answer with its sources, their weights, what
it cost and the node's signed receipt, checked against the chain when the page is shown.

A local account asks with the form; a browser wallet (static/ask-wallet.js) asks in two
JSON steps: the typed data to sign, held in the session, then the signatures, checked before
the node is sent anything. A JSON refusal is `{"error": "..."}` with a 4xx/5xx status.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

import tessera
from tessera.web.forms import checked_form, checked_json, json_text, required, signing_home
from tessera.web.highlight import shared_runs
from tessera.web.rendering import base, home, json_answer, redirect, render

router = APIRouter()
MAX_QUESTION = 2000  # characters; the node bounds its own request size as well
SOURCE_PREVIEW = 1200  # characters of each source shown


@router.get("/ask", response_class=HTMLResponse)
async def ask_page(request: Request) -> HTMLResponse:
    return render(request, "ask.html", title="Ask", node=request.app.state.config.node)


@router.post("/ask")
async def ask(request: Request) -> Response:
    session, form = await checked_form(request)
    question = required(form, "question", MAX_QUESTION)
    model = form.get("model", "").strip()[:128] or None
    t, node = signing_home(session), request.app.state.config.node
    result = await home(request, lambda _: t.ask(question, node=node, model=model))
    return redirect(request, f"/receipts/{_receipt_id(result)}")


@router.post("/api/ask/typed-data")
async def wallet_typed_data(request: Request) -> JSONResponse:
    """`{"question", "model"?, "account", "csrf"}` -> `{"ask", "typed_data", "node", "up_to"}`:
    `account` signs each typed data with `eth_signTypedData_v4`, in order, and posts the
    signatures with `ask` to /api/ask. `up_to` is the most the answer can cost."""

    async def prepare() -> dict[str, Any]:
        session, body = await checked_json(request)
        question = json_text(body, "question", MAX_QUESTION)
        model = json_text(body, "model", 128, needed=False) or None
        account, node = json_text(body, "account", 42), request.app.state.config.node
        session.prepares.take("questions prepared for a wallet from this browser")
        request.app.state.prepares.take("questions prepared for wallets on this server")
        unsigned = await home(request, lambda t: t.prepare_ask(account, question, node, model))
        return {
            "ask": session.keep_ask(unsigned),
            "typed_data": unsigned.typed_data(),
            "node": unsigned.node,
            "up_to": str(unsigned.request.up_to),
        }

    return await json_answer(prepare)


@router.post("/api/ask")
async def wallet_ask(request: Request) -> JSONResponse:
    """`{"ask", "signatures": [request's, voucher's], "csrf"}` -> `{"receipt", "location"}`,
    the answer's page. Signatures that are not the account's are refused before the node
    is sent anything; the question held is used once, whatever happens."""

    async def send() -> dict[str, Any]:
        session, body = await checked_json(request)
        unsigned = session.take_ask(json_text(body, "ask", 64))
        signatures = body.get("signatures")
        if not isinstance(signatures, list):
            raise tessera.InputError("give 'signatures' as a list: the request's, the voucher's")
        result = await home(request, lambda t: t.ask_signed(unsigned, signatures))
        receipt_id = _receipt_id(result)
        return {"receipt": receipt_id, "location": f"{base(request)}/receipts/{receipt_id}"}

    return await json_answer(send)


def _receipt_id(result: tessera.AskResult) -> str:
    if result.receipt is None:
        raise tessera.NodeError(
            "the node answered without a receipt: it is not a paid node, so nothing was "
            "attributed or paid; ask one that is (`tessera nodes`)"
        )
    return result.receipt.id


@router.get("/receipts/{receipt_id}.json")
async def receipt_json(request: Request, receipt_id: str) -> JSONResponse:
    receipt = await home(request, lambda t: t.receipt(receipt_id))
    return JSONResponse(receipt.to_json())


@router.get("/receipts/{receipt_id}", response_class=HTMLResponse)
async def answer(request: Request, receipt_id: str) -> HTMLResponse:
    def read(t: tessera.Tessera) -> dict[str, Any]:
        receipt = t.receipt(receipt_id)
        try:
            t.verify_receipt(receipt)
            problem = None
        except tessera.TesseraError as exc:
            problem = str(exc)
        names = {d.id: d.name for d in t.datanets()}
        return {"receipt": receipt, "problem": problem, "datanet_names": names,
                "sources": [_source(t, s, receipt.response_text) for s in receipt.attribution],
                "training": list(receipt.training)}  # fmt: skip

    found = await home(request, read)
    return render(request, "answer.html", title="Answer", **found)


def _source(t: tessera.Tessera, source: Any, answer_text: str) -> dict[str, Any]:
    try:
        text = t.content(source.cid).decode("utf-8", "replace")[:SOURCE_PREVIEW]
    except tessera.TesseraError:
        text = ""
    return {"source": source, "runs": shared_runs(text, answer_text) if text else []}

"""The client's journey: ask, then read the answer with its sources, their weights, what
it cost and the node's signed receipt, checked against the chain when the page is shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

import tessera
from tessera.web.forms import checked_form, required, signing_home
from tessera.web.highlight import shared_runs
from tessera.web.rendering import home, redirect, render

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
    if result.receipt is None:
        raise tessera.NodeError(
            "the node answered without a receipt: it is not a paid node, so nothing was "
            "attributed or paid; ask one that is (`tessera nodes`)"
        )
    return redirect(request, f"/receipts/{result.receipt.id}")


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

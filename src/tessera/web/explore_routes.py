"""Pages anyone can browse: the overview, datanets, contributions, blocks and transactions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import tessera
from tessera.web.paging import page_number, paginate
from tessera.web.rendering import home, page_size, render

router = APIRouter()
PREVIEW_BYTES = 4096  # of a contribution's content, shown as text


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> HTMLResponse:
    def read(t: tessera.Tessera) -> dict[str, Any]:
        models = t.factory.models
        proposals = t.gov.proposals()
        return {
            "block": t.chain.w3.eth.block_number,
            "datanets": t.datanets(),
            "models": models.model_ids(),
            "proposals": proposals[-5:][::-1],
            "proposal_count": len(proposals),
            "node_count": t.staking.node_count(),
        }

    return render(request, "overview.html", title="Overview", **await home(request, read))


@router.get("/datanets", response_class=HTMLResponse)
async def datanets(request: Request, page: str | None = None) -> HTMLResponse:
    number = page_number(page)
    listed = await home(request, lambda t: t.datanets())
    return render(
        request, "datanets.html", title="Datanets",
        page=paginate(listed, number, page_size(request)),
    )  # fmt: skip


@router.get("/datanets/{name}", response_class=HTMLResponse)
async def datanet(request: Request, name: str, page: str | None = None) -> HTMLResponse:
    number = page_number(page)
    detail = await home(request, lambda t: t.datanet(name))
    contributions = paginate(detail.contributions[::-1], number, page_size(request))
    return render(
        request, "datanet.html", title=f"Datanet {detail.record.name}",
        detail=detail, page=contributions,
        batch_blocks={b.id: b.block_number for b in detail.batches},
    )  # fmt: skip


@router.get("/contributions/{cid}", response_class=HTMLResponse)
async def contribution(request: Request, cid: str, page: str | None = None) -> HTMLResponse:
    number = page_number(page)

    def read(t: tessera.Tessera) -> dict[str, Any]:
        proof = t.prove(cid)  # re-checked against the chain on every view
        missing: str | None = None
        try:
            content = t.content(cid)
        except tessera.TesseraError as exc:
            content, missing = b"", str(exc)
        return {"proof": proof, "preview": content[:PREVIEW_BYTES].decode("utf-8", "replace"),
                "size": len(content), "missing": missing,
                "usage": t.contribution_usage(cid)}  # fmt: skip

    found = await home(request, read)
    uses = paginate(found["usage"].uses[::-1], number, page_size(request))
    return render(request, "contribution.html", title="Contribution", cid=cid, uses=uses,
                  **found)  # fmt: skip


@router.get("/blocks/{number}", response_class=HTMLResponse)
async def block(request: Request, number: int) -> HTMLResponse:
    def read(t: tessera.Tessera) -> Any:
        if not 0 <= number <= t.chain.w3.eth.block_number:
            raise tessera.NotFoundError(f"block {number} is not on this chain yet")
        return t.chain.w3.eth.get_block(number, full_transactions=True)

    found = await home(request, read)
    return render(request, "block.html", title=f"Block {number}", block=found, number=number)


@router.get("/tx/{tx_hash}", response_class=HTMLResponse)
async def transaction(request: Request, tx_hash: str) -> HTMLResponse:
    tx, receipt = await home(request, lambda t: t.transaction(tx_hash))
    return render(request, "tx.html", title="Transaction", tx=tx, receipt=receipt)

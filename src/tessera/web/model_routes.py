"""Builders' pages: models and adapters, each version's provenance traced to the chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import tessera
from tessera.web.paging import page_number, paginate
from tessera.web.rendering import home, page_size, render

router = APIRouter()


@router.get("/models", response_class=HTMLResponse)
async def models(request: Request, page: str | None = None) -> HTMLResponse:
    number = page_number(page)

    def read(t: tessera.Tessera) -> list[Any]:
        registry = t.factory.models
        return [r for r in map(registry.latest, registry.model_ids()) if r is not None]

    latest = await home(request, read)
    return render(
        request, "models.html", title="Models",
        page=paginate(latest[::-1], number, page_size(request)),
    )  # fmt: skip


@router.get("/models/{model_id:path}/v{version}", response_class=HTMLResponse)
async def model_version(request: Request, model_id: str, version: int) -> HTMLResponse:
    def read(t: tessera.Tessera) -> dict[str, Any]:
        versions = t.factory.versions(model_id)
        if not 1 <= version <= len(versions):
            raise tessera.NotFoundError(f"{model_id} has no version {version}")
        record = versions[version - 1]
        try:
            trace, problem = t.factory.trace(model_id, version), None
        except tessera.TesseraError as exc:  # files not fetchable: show the chain's record
            trace, problem = None, str(exc)
        royalties = t.earnings(record.builder).by_model().get(model_id, 0)
        return {"record": record, "trace": trace, "problem": problem, "royalties": royalties,
                "datanet_names": {d.id: d.name for d in t.datanets()}}  # fmt: skip

    found = await home(request, read)
    return render(request, "model_version.html", title=f"{model_id} v{version}", **found)


@router.get("/models/{model_id:path}", response_class=HTMLResponse)
async def model(request: Request, model_id: str) -> HTMLResponse:
    versions = await home(request, lambda t: t.factory.versions(model_id))
    if not versions:
        raise tessera.NotFoundError(
            f"no model {model_id!r} is published on this chain: the models page lists them"
        )
    return render(request, "model.html", title=f"Model {model_id}", versions=versions[::-1],
                  model_id=model_id)  # fmt: skip

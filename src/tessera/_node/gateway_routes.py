"""GET and HEAD /ipfs/{cid}: the node's blocks over the IPFS trustless gateway protocol.

A raw block (`?format=raw` or `Accept: application/vnd.ipld.raw`) or a CARv1 of the DAG
(`?format=car` or `Accept: application/vnd.ipld.car`, `dag-scope=all` by default, depth-first,
no duplicates), per specs.ipfs.tech/http-gateways/trustless-gateway. Only blocks this machine
holds are served (a node never asks its peers on a peer's behalf), and a CID is parsed before it
names a file, so no request reads outside the store. The routes stay out of the OpenAPI schema:
they speak the IPFS protocol (plain-text errors, as kubo's), not the OpenAI one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from tessera._errors import InputError, StoreError
from tessera._store.base import BlobStore
from tessera._store.car import car_header, car_section
from tessera._store.cid import Cid, decode_cid

log = logging.getLogger(__name__)

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
CAR_CONTENT_TYPE = f"{CAR_TYPE}; version=1; order=dfs; dups=n"
PROBE = "bafkqaaa"  # the empty identity CID: "is this a trustless gateway?"
_PROBE_BYTES = bytes([0x01, 0x55, 0x00, 0x00])
_SCOPES = {"all", "entity", "block"}  # entity: for a file, every block of it, as all


Blocked = Callable[[], Collection[str]]  # the CIDs not to hand on, read once per request


def gateway_routes(store: BlobStore, blocked: Blocked = frozenset) -> APIRouter:
    """The /ipfs routes over the blocks `store` holds on this machine. What `blocked()` names
    (the network's content policy) is not served: 451 for it, and left out of any CAR."""
    held = store.local_blocks()
    router = APIRouter()

    @router.api_route("/ipfs/{cid}", methods=["GET", "HEAD"], include_in_schema=False)
    def ipfs(cid: str, request: Request) -> Response:
        fmt = _format(request)
        if fmt is None:
            return _refuse(406, "send ?format=raw or ?format=car (or the matching Accept header)")
        if fmt == "car" and not _car_variant_ok(request):
            return _refuse(406, "only CAR version=1, order=dfs, dups=n is served")
        scope = request.query_params.get("dag-scope", "all")
        if fmt == "car" and scope not in _SCOPES:
            return _refuse(400, f"dag-scope {scope!r} is not one of all, entity, block")
        if cid == PROBE:
            return _probe(fmt, request)
        try:
            parsed = decode_cid(cid)
        except InputError as exc:
            return _refuse(400, str(exc))
        withheld = blocked()
        if str(parsed) in withheld:
            return _refuse(451, f"{cid} is blocked by the network's content policy")
        if not held.has_block(cid):
            return _refuse(404, f"{cid} is not held by this node")
        if fmt == "raw":
            return _raw(held, cid, request)
        return _car(held, parsed, cid, scope, request, withheld)

    return router


def _raw(held: BlobStore, cid: str, request: Request) -> Response:
    try:
        block = held.get_block(cid)
    except StoreError as exc:
        return _refuse(500, str(exc))
    headers = _headers(cid, f'"{cid}.raw"', f"{cid}.bin")
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(block))
        return Response(status_code=200, headers=headers, media_type=RAW_TYPE)
    return Response(block, headers=headers, media_type=RAW_TYPE)


def _car(
    held: BlobStore, root: Cid, cid: str, scope: str, request: Request, withheld: Collection[str]
) -> Response:
    scope = "all" if scope == "entity" else scope
    headers = _headers(cid, f'"{cid}.car.dfs.n.{scope}"', f"{cid}.car")
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=CAR_CONTENT_TYPE)
    return StreamingResponse(
        _car_stream(held, root, scope, withheld), headers=headers, media_type=CAR_CONTENT_TYPE
    )


def _car_stream(
    held: BlobStore, root: Cid, scope: str, withheld: Collection[str]
) -> Iterator[bytes]:
    yield car_header([root.to_bytes()])
    try:
        if scope == "block":
            yield car_section(root, held.get_block(str(root)))
            return
        for cid, block in held.dag_blocks(str(root)):
            if str(cid) not in withheld:
                yield car_section(cid, block)
    except StoreError as exc:
        # the 200 is already sent: ending the stream early is how a gateway says it (the
        # client checks the CAR is complete)
        log.warning("CAR of %s ends early: %s", root, exc)


def _probe(fmt: str, request: Request) -> Response:
    if fmt == "raw":
        return Response(b"", headers=_headers(PROBE, f'"{PROBE}.raw"', f"{PROBE}.bin"))
    body = b"" if request.method == "HEAD" else car_header([_PROBE_BYTES])
    headers = _headers(PROBE, f'"{PROBE}.car"', f"{PROBE}.car")
    return Response(body, headers=headers, media_type=CAR_CONTENT_TYPE)


def _format(request: Request) -> str | None:
    """raw, car or None; `format` wins over Accept, as the spec says."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt if fmt in ("raw", "car") else None
    for media_range in request.headers.get("accept", "").split(","):
        kind = media_range.split(";")[0].strip().lower()
        if kind == RAW_TYPE:
            return "raw"
        if kind == CAR_TYPE:
            return "car"
    return None


def _car_variant_ok(request: Request) -> bool:
    """Whether the CAR asked for (Accept parameters, car-* query) is the one served."""
    asked: dict[str, str] = {}
    for media_range in request.headers.get("accept", "").split(","):
        kind, *params = media_range.split(";")
        if kind.strip().lower() == CAR_TYPE:
            for param in params:
                name, _, value = param.partition("=")
                asked[name.strip().lower()] = value.strip().lower()
            break
    for name in ("version", "order", "dups"):
        if f"car-{name}" in request.query_params:  # the query wins over Accept
            asked[name] = request.query_params[f"car-{name}"].lower()
    return (
        asked.get("version", "1") == "1"
        and asked.get("order", "dfs") in ("dfs", "unk")
        and asked.get("dups", "n") == "n"
    )


def _headers(cid: str, etag: str, filename: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": "public, max-age=29030400, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Ipfs-Path": f"/ipfs/{cid}",
        "X-Ipfs-Roots": cid,
        "Vary": "Accept",
    }


def _refuse(status: int, sentence: str) -> Response:
    return PlainTextResponse(sentence, status_code=status, headers={"Cache-Control": "no-store"})

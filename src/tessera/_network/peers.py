"""What a client reads from a node over HTTP before it trusts it: its metadata and its health.

Both are bounded in size and time, since the endpoint is whatever a node wrote on chain.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from eth_utils import to_checksum_address

from tessera._errors import InputError, StoreError
from tessera._network.metadata import MAX_BYTES, NodeMetadata, check_endpoint
from tessera._store.cid import digest_from_cid

FETCH_TIMEOUT_S = 5.0
PROBE_TIMEOUT_S = 2.0
MAX_HEALTH_BYTES = 256 * 1024
RAW = "application/vnd.ipld.raw"


@dataclass(frozen=True)
class Expected:
    """Whom a metadata document must describe: the node as registered on this chain."""

    node: str
    chain_id: int
    staking: str


def read_bounded(
    client: httpx.Client, url: str, limit: int, timeout: float, headers: dict[str, str]
) -> tuple[int, bytes]:
    """GET `url`: the status and at most `limit` bytes, all within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    body = bytearray()
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise StoreError(f"{url} sent more than {limit} bytes: it is refused")
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"{url} took longer than {timeout} s")
        return response.status_code, bytes(body)


def fetch_metadata(
    client: httpx.Client, endpoint: str, cid: str, expected: Expected
) -> NodeMetadata:
    """The node's metadata from its own gateway, checked against its CID and registration."""
    digest = digest_from_cid(cid)
    url = f"{check_endpoint(endpoint).rstrip('/')}/ipfs/{cid}?format=raw"
    try:
        status, data = read_bounded(client, url, MAX_BYTES, FETCH_TIMEOUT_S, {"Accept": RAW})
    except httpx.HTTPError as exc:
        raise StoreError(
            f"cannot fetch metadata {cid} from {endpoint} ({type(exc).__name__}): the node "
            f"must be running and serve /ipfs/{cid}"
        ) from None
    if status != 200:
        raise StoreError(f"{endpoint} answered {status} for its metadata {cid}: it must serve it")
    if hashlib.sha256(data).digest() != digest:
        raise StoreError(f"{endpoint} sent bytes that do not hash to its metadata CID {cid}")
    metadata = NodeMetadata.from_bytes(data)
    for field, want in (
        ("node", to_checksum_address(expected.node)),
        ("chain_id", expected.chain_id),
        ("staking", to_checksum_address(expected.staking)),
    ):
        if getattr(metadata, field) != want:
            raise InputError(
                f"the metadata {cid} names {field} {getattr(metadata, field)}, not {want}: "
                "it describes another node or network"
            )
    return metadata


@dataclass(frozen=True)
class Health:
    ok: bool
    latency_ms: float | None
    error: str | None
    body: dict[str, Any]


def probe_health(client: httpx.Client, endpoint: str, node: str | None) -> Health:
    """GET /health within PROBE_TIMEOUT_S; ok when it answers 200 as node `node` (any node
    when None)."""
    started = time.perf_counter()
    try:
        url = check_endpoint(endpoint).rstrip("/") + "/health"
        status, data = read_bounded(client, url, MAX_HEALTH_BYTES, PROBE_TIMEOUT_S, {})
    except (httpx.HTTPError, StoreError, InputError) as exc:
        return Health(False, None, f"health probe failed ({type(exc).__name__})", {})
    latency = (time.perf_counter() - started) * 1000
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if status != 200 or not isinstance(body, dict):
        return Health(False, latency, f"/health answered {status}, not a Tessera node's 200", {})
    said = body.get("node")
    if node is not None and (not isinstance(said, str) or said.lower() != node.lower()):
        return Health(False, latency, f"/health speaks for {str(said)[:42]}, not {node}", body)
    return Health(True, latency, None, body)

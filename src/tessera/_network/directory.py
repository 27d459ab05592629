"""The network as a client sees it now: every registered node, its metadata and its health.

The chain says who is registered, with what stake, at which endpoint and metadata CID; the
node itself serves the metadata (checked against the CID and the registration), governance
says which of its models are approved, and a health probe says whether it answers and how
fast. Every node is looked at concurrently, each bounded in time, so one slow node costs the
listing at most its own time-outs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx

from tessera._chain.governance import PolicyClient, PolicySnapshot
from tessera._chain.staking import NodeRecord, StakingClient
from tessera._errors import TesseraError
from tessera._network.metadata import NodeMetadata
from tessera._network.peers import Expected, fetch_metadata, probe_health
from tessera._network.records import NetworkNode, ServedModel

MAX_WORKERS = 16


class NodeDirectory:
    def __init__(self, staking: StakingClient, policy: PolicyClient, chain_id: int) -> None:
        self.staking, self.policy, self.chain_id = staking, policy, chain_id

    def nodes(self) -> list[NetworkNode]:
        """Every node ever registered, in registration order, with what it serves now."""
        records = self.staking.nodes()
        if not records:
            return []
        policy = self.policy.snapshot()
        workers = min(MAX_WORKERS, len(records))
        with httpx.Client(follow_redirects=False) as client, ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda r: self.look(client, r, policy), records))

    def node(self, address: str) -> NetworkNode | None:
        """One registered node as `nodes` lists it, probing only that node (None: it never
        registered)."""
        record = self.staking.node(address)
        if not record.registered_at:
            return None
        with httpx.Client(follow_redirects=False) as client:
            return self.look(client, record, self.policy.snapshot())

    def look(self, client: httpx.Client, record: NodeRecord, policy: PolicySnapshot) -> NetworkNode:
        """One node: its metadata (when it still serves) and its health."""
        slashed = self.staking.slashed(record.address)
        if not record.active:
            return replace(
                _node(record, None, policy, False, None, "left the network"), slashed=slashed
            )
        expected = Expected(record.address, self.chain_id, self.staking.address)
        try:
            metadata: NodeMetadata | None = fetch_metadata(
                client, record.endpoint, record.metadata_cid, expected
            )
            error = None
        except TesseraError as exc:
            metadata, error = None, str(exc)
        health = probe_health(client, record.endpoint, record.address)
        # a node that does not answer at all is down: say that, not that its metadata is missing
        reason = health.error if not health.ok else error
        found = _node(record, metadata, policy, health.ok, health.latency_ms, reason)
        return replace(found, slashed=slashed)


def _node(
    record: NodeRecord,
    metadata: NodeMetadata | None,
    policy: PolicySnapshot,
    healthy: bool,
    latency_ms: float | None,
    error: str | None,
) -> NetworkNode:
    models = tuple(
        ServedModel(m.id, m.weights_digest, policy.model_approved(m.id, m.weights_digest))
        for m in (metadata.models if metadata else ())
    )
    return NetworkNode(
        address=record.address,
        endpoint=record.endpoint,
        stake=record.stake,
        active=record.active,
        eligible=record.eligible,
        models=models,
        input_price=metadata.input_price if metadata else 0,
        output_price=metadata.output_price if metadata else 0,
        default_max_tokens=metadata.default_max_tokens if metadata else None,
        healthy=healthy,
        latency_ms=latency_ms,
        error=error,
        metadata_cid=record.metadata_cid,
    )

"""What a client knows of one node of the network: its registration, its metadata, its health."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServedModel:
    id: str
    weights_digest: str
    approved: bool  # governance approved this id with exactly these weights


@dataclass(frozen=True)
class NetworkNode:
    address: str
    endpoint: str
    stake: int  # bonded, in the token's smallest unit
    active: bool  # registered and not leaving
    eligible: bool  # active with at least the minimum stake
    models: tuple[ServedModel, ...]  # empty when the metadata could not be read
    input_price: int  # per token, smallest unit (0 when unknown)
    output_price: int
    default_max_tokens: int | None  # None when the metadata could not be read
    healthy: bool  # /health answered 200 for this node's address
    latency_ms: float | None  # of the health probe
    error: str | None = None  # why the metadata or the health probe failed
    metadata_cid: str = ""
    registered: bool = True  # False: a URL the user pinned, not looked up on chain
    slashed: int = 0  # every token validators' challenges slashed from it, ever

    def serves(self, model: str | None) -> bool:
        """Serves an approved version of `model` (of any model when None)."""
        return any(m.approved and (model is None or m.id == model) for m in self.models)

"""GET /health and /v1/models: what the node is, serves, charges, and whether it is well."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tessera._chain.governance import PolicySnapshot
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node.dependencies import Service
from tessera._node.service import NodeService

router = APIRouter()


@router.get("/health")
def health(service: Service) -> dict[str, Any]:
    follower = service.follower
    money = service.settlement_health
    healthy = follower.error is None and money.ok
    return {
        "status": "ok" if healthy else "degraded",
        "model": service.config.model_id,
        "node": service.node_key.address,
        "follower_error": follower.error,
        "policy_error": service.policy.error if service.policy else None,
        "indexed": len(service.vectors),
        "datanets": [vars(s) for s in follower.snapshots.values()],
        "receipts": service.receipts.count(),
        # a settlement that fails, or receipts that cannot be redeemed, cost the node money
        "settlement": money.to_json(),
        "adapters": service.adapters.to_json() if service.adapters is not None else None,
    }


@router.get("/v1/models")
def models(service: Service) -> dict[str, Any]:
    """The base model, then each adapter served as its own model (`parent`: the base)."""
    config, policy = service.config, service.content_policy()
    served = sorted(s.name for s in service.follower.snapshots.values())
    shared = {
        "object": "model",
        "created": 0,
        "owned_by": service.node_key.address,
        "context_window": config.max_prompt_tokens,
        "pricing": {
            "input_token": str(service.price(1, 0)),
            "output_token": str(service.price(0, 1)),
            "unit": "smallest TSR unit (18 decimals)",
        },
        "datanets": served,
        "tessera": _terms(service, policy),
    }
    listed = []
    for version in service.served_versions():
        model = {"id": version.model_id, **shared, "weights_digest": version.weights_digest}
        # approved by governance: this id with exactly these weights
        model["approved"] = policy.model_approved(version.model_id, version.weights_digest)
        if version.adapter is not None:
            adapter = version.adapter
            model |= {
                "parent": config.model_id,  # as vLLM lists a LoRA adapter
                "version": adapter.version,
                "builder": adapter.builder,
                "manifest_cid": adapter.manifest_cid,
            }
        listed.append(model)
    return {"object": "list", "data": listed}


def _terms(service: NodeService, policy: PolicySnapshot) -> dict[str, Any]:
    """How to pay this node and what governance keeps out of its answers."""
    gate, served = service.payments, service.follower.snapshots.values()
    return {
        "node": service.node_key.address,
        "chain_id": service.chain_id,
        "settlement": gate.settlement.address if gate else None,
        "payments": gate is not None,
        "voucher_header": VOUCHER_HEADER,
        "default_max_tokens": service.config.default_max_tokens,
        "content_policy": {
            "version": policy.version,
            "blocked_cids": len(policy.blocked_cids),
            "blocked_datanets": sorted(
                s.name for s in served if s.datanet in policy.blocked_datanets
            ),
        },
    }

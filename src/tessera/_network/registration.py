"""Joining, updating and leaving the network, checked before any gas is spent.

The metadata is built from what the node serves right now (its `/v1/models`), so the chain
never lists a model or a price the node does not offer; it goes into the home's store, which
a node started from the same home serves at `/ipfs/{cid}`, and the registration is sent only
once the node is seen to serve it.
"""

from __future__ import annotations

import json

import httpx
from eth_account.signers.local import LocalAccount

from tessera._chain.staking import NodeRecord, StakingClient
from tessera._errors import ContractRevert, InputError, TesseraError
from tessera._network.metadata import ModelVersion, NodeMetadata, check_endpoint, check_model
from tessera._network.peers import Expected, fetch_metadata, probe_health, read_bounded
from tessera._payments.units import format_tsr
from tessera._store.base import BlobStore

MAX_MODELS_BYTES = 256 * 1024
START_HINT = "start it with `tessera node start --as ACCOUNT` and pass the URL it listens on"


def served_metadata(
    endpoint: str, node: str, chain_id: int, staking: str, timeout: float = 5.0
) -> NodeMetadata:
    """The metadata of the node at `endpoint` as it serves now; it must speak for `node`."""
    endpoint = check_endpoint(endpoint).rstrip("/")
    with httpx.Client(follow_redirects=False) as client:
        health = probe_health(client, endpoint, None)
        if not health.ok:
            raise InputError(
                f"{endpoint} does not answer /health like a Tessera node ({health.error}): "
                + START_HINT
            )
        try:
            status, data = read_bounded(
                client, endpoint + "/v1/models", MAX_MODELS_BYTES, timeout, {}
            )
        except (httpx.HTTPError, TesseraError):
            status, data = 0, b""
    offer = _offer(data) if status == 200 else None
    if offer is None:
        raise InputError(
            f"{endpoint}/v1/models does not list models like a Tessera node: {START_HINT}"
        )
    signers, models, prices = offer
    if signers != {node.lower()}:
        raise InputError(
            f"the node at {endpoint} signs as {', '.join(sorted(signers))[:90]}, not as "
            f"{node}: register with --as the account the node was started with"
        )
    return NodeMetadata(chain_id, staking, node, endpoint, models, *prices)


Offer = tuple[set[str], tuple[ModelVersion, ...], tuple[int, int, int]]


def _offer(data: bytes) -> Offer | None:
    """Who signs, which models, and the first model's prices and default max tokens, from a
    /v1/models body; None when it is not a Tessera node's."""
    try:
        listed = json.loads(data)["data"]
        signers = {str(m["tessera"]["node"]).lower() for m in listed}
        models = tuple(check_model(m["id"], m["weights_digest"]) for m in listed)
        first = listed[0]
        prices = (
            int(first["pricing"]["input_token"]),
            int(first["pricing"]["output_token"]),
            int(first["tessera"]["default_max_tokens"]),
        )
    except (ValueError, KeyError, TypeError, IndexError, InputError):
        return None
    return signers, models, prices


def publish(store: BlobStore, metadata: NodeMetadata, staking: str) -> str:
    """Put the metadata in the home's store and check that the node serves it back."""
    cid = store.put(metadata.to_bytes())
    expected = Expected(metadata.node, metadata.chain_id, staking)
    with httpx.Client(follow_redirects=False) as client:
        try:
            fetch_metadata(client, metadata.endpoint, cid, expected)
        except TesseraError as exc:
            raise InputError(
                f"the node at {metadata.endpoint} does not serve its metadata {cid} ({exc}): "
                "start the node from this home, whose store holds it"
            ) from None
    return cid


def check_stake(staking: StakingClient, node: str, stake: int) -> None:
    """The stake meets the minimum and the account holds it; the node is not yet listed."""
    if staking.node(node).active:
        raise InputError(
            f"{node} is already registered: change its listing with `tessera node update`"
        )
    minimum = staking.min_stake()
    if stake < minimum:
        raise InputError(
            f"a stake of {format_tsr(stake)} TSR is below the minimum of {format_tsr(minimum)} "
            "TSR: stake at least that"
        )
    held = staking.token.balance_of(node)
    if held < stake:
        raise InputError(
            f"{node} holds {format_tsr(held)} TSR, less than the {format_tsr(stake)} to stake: "
            "have tokens sent to it first (`tessera transfer AMOUNT ACCOUNT`)"
        )


def registered(staking: StakingClient, node: str) -> NodeRecord:
    record = staking.node(node)
    if not record.active:
        raise InputError(
            f"{node} is not a registered node: register it with `tessera node register`"
        )
    return record


def register(
    staking: StakingClient,
    store: BlobStore,
    signer: LocalAccount,
    endpoint: str,
    stake: int,
    chain_id: int,
) -> NodeRecord:
    check_stake(staking, signer.address, stake)
    metadata = served_metadata(endpoint, signer.address, chain_id, staking.address)
    cid = publish(store, metadata, staking.address)
    staking.register(signer, stake, metadata.endpoint, cid)
    return staking.node(signer.address)


def update(
    staking: StakingClient,
    store: BlobStore,
    signer: LocalAccount,
    endpoint: str | None,
    chain_id: int,
) -> NodeRecord:
    record = registered(staking, signer.address)
    target = endpoint or record.endpoint
    metadata = served_metadata(target, signer.address, chain_id, staking.address)
    cid = publish(store, metadata, staking.address)
    staking.update(signer, metadata.endpoint, cid)
    return staking.node(signer.address)


def withdraw(staking: StakingClient, signer: LocalAccount) -> int:
    record = staking.node(signer.address)
    if record.unbonding == 0:
        raise InputError(
            f"{signer.address} has no stake unbonding: `tessera node leave` starts the delay"
        )
    try:
        return staking.withdraw(signer)
    except ContractRevert as exc:
        if exc.reason != "staking: unbonding delay not over":
            raise
        raise InputError(
            f"the stake of {signer.address} unbonds until timestamp {record.withdrawable_at}: "
            "withdraw it after that"
        ) from None

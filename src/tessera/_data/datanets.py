"""Datanets: create them, list and show them, prove and fetch their contributions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tessera._chain.registry import BatchRecord, DatanetRecord, RegistryClient
from tessera._data.index import ContributionIndex, IndexedContribution
from tessera._data.manifest import BatchManifest
from tessera._errors import InputError, NotFoundError, SignatureError, TesseraError
from tessera._store.base import BlobStore
from tessera._store.cid import digest_from_cid

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# SPDX ids, plus LicenseRef- for custom licenses; the full SPDX list changes too often to pin
_SPDX = re.compile(r"^(LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")


@dataclass(frozen=True)
class DatanetDetail:
    record: DatanetRecord
    metadata: dict[str, str]
    contributors: dict[str, int]  # address -> number of contributions
    contributions: list[IndexedContribution]  # with a valid signature, in batch order
    batches: list[BatchRecord]
    unavailable_batches: list[int]  # registered, but their manifest is not in our store


@dataclass(frozen=True)
class ContributionProof:
    cid: str
    datanet: str
    datanet_id: int
    batch: BatchRecord
    leaf_index: int
    contributor: str
    signature: bytes
    proof: list[bytes]
    verified_on_chain: bool

    @property
    def time(self) -> str:
        return datetime.fromtimestamp(self.batch.timestamp, UTC).isoformat()


def snapshot_root(batch_roots: list[bytes]) -> str:
    """What a receipt says a datanet was: keccak over its batch roots, in registration order."""
    return "0x" + keccak(b"".join(batch_roots)).hex()


def chain_snapshot_root(registry: RegistryClient, datanet: int, batches: int) -> str:
    """The snapshot root of `datanet`'s first `batches` batches, read from the chain alone."""
    record = registry.datanet(datanet)
    if batches > record.batch_count:
        raise NotFoundError(
            f"datanet #{datanet} has {record.batch_count} batches on chain, not {batches}"
        )
    ids = [registry.datanet_batch(datanet, i) for i in range(batches)]
    return snapshot_root([registry.batch(i).root for i in ids])


def resolve_datanet(registry: RegistryClient, name: str) -> DatanetRecord:
    datanet_id = registry.datanet_id(name)
    if datanet_id == 0:
        raise NotFoundError(
            f"there is no datanet named {name!r}: list them with `tessera datanet list` or "
            f"create it with `tessera datanet create {name} --license SPDX-ID`"
        )
    return registry.datanet(datanet_id)


def resolve_datanets(registry: RegistryClient, names: list[str]) -> list[DatanetRecord]:
    """The datanets `names` name, each once, by increasing id (what a snapshot records)."""
    records = {r.id: r for r in (resolve_datanet(registry, n) for n in names)}
    return [records[i] for i in sorted(records)]


def create_datanet(
    registry: RegistryClient,
    store: BlobStore,
    owner: LocalAccount,
    name: str,
    license: str,
    description: str = "",
) -> DatanetRecord:
    if not _NAME.match(name):
        raise InputError(
            f"datanet name {name!r} is not allowed: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    if not _SPDX.match(license):
        raise InputError(f"{license!r} is not an SPDX license id: use one such as CC-BY-4.0 or MIT")
    if registry.datanet_id(name):
        raise InputError(f"a datanet named {name!r} already exists: pick another name")
    metadata = {"name": name, "license": license, "description": description}
    metadata_cid = store.put(json.dumps(metadata, sort_keys=True).encode())
    datanet_id = registry.create_datanet(owner, name, license, metadata_cid)
    return registry.datanet(datanet_id)


def list_datanets(registry: RegistryClient) -> list[DatanetRecord]:
    return [registry.datanet(i) for i in range(1, registry.datanet_count() + 1)]


def show_datanet(
    registry: RegistryClient, store: BlobStore, index: ContributionIndex, name: str
) -> DatanetDetail:
    record = resolve_datanet(registry, name)
    index.sync(registry, store)
    try:
        metadata = json.loads(store.get(record.metadata_cid))
    except TesseraError:
        metadata = {}
    contributions = [c for c in index.contributions(record.id) if c.signature_ok]
    contributors: dict[str, int] = {}
    for item in contributions:
        contributors[item.contributor] = contributors.get(item.contributor, 0) + 1
    batches = [registry.batch(i) for i in index.batch_ids(record.id)]
    return DatanetDetail(
        record, metadata, contributors, contributions, batches, index.unavailable_batches(record.id)
    )


def prove_contribution(
    registry: RegistryClient, store: BlobStore, index: ContributionIndex, cid: str
) -> ContributionProof:
    cid_digest = digest_from_cid(cid)
    index.sync(registry, store)
    found = index.find(cid)
    if not found:
        raise NotFoundError(
            f"no contribution with CID {cid} is registered in any datanet this node has indexed"
        )
    item = next((f for f in found if f.signature_ok), found[0])
    if not item.signature_ok:
        raise SignatureError(
            f"contribution {cid} in batch {item.batch} carries a signature that is not its "
            f"claimed contributor {item.contributor}'s: the batch's submitter forged or broke it"
        )
    batch = registry.batch(item.batch)
    manifest = BatchManifest.from_bytes(store.get(batch.content_uri))
    proof = manifest.tree.proof(item.leaf_index)
    verified = registry.verify_contribution(
        item.batch, cid_digest, item.contributor, item.signature, proof
    )
    return ContributionProof(
        cid,
        registry.datanet(item.datanet).name,
        item.datanet,
        batch,
        item.leaf_index,
        item.contributor,
        item.signature,
        proof,
        verified,
    )

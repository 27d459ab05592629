"""A snapshot of datanets: their contributions registered up to one block, named by batch roots.

A model is trained on a snapshot, never on "the datanet as it is now": the chain records the
datanet ids and how many of each one's batches were in it, so anyone can rebuild the exact set
of contributions, prove each one, and check it against the data root the builder published.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from tessera._chain.governance import PolicySnapshot
from tessera._chain.registry import BatchRecord, DatanetRecord, RegistryClient
from tessera._crypto.merkle import MerkleTree
from tessera._data.datanets import resolve_datanets, snapshot_root
from tessera._data.index import ContributionIndex
from tessera._errors import InputError, NotFoundError
from tessera._store.base import BlobStore
from tessera._store.cid import digest_from_cid

MAX_DATANETS = 16  # what the models contract records per version


@dataclass(frozen=True)
class SnapshotDatanet:
    record: DatanetRecord
    batches: tuple[BatchRecord, ...]  # its first len(batches) batches, in registration order

    @property
    def root(self) -> str:
        """The same snapshot root a receipt names for this datanet."""
        return snapshot_root([b.root for b in self.batches])


@dataclass(frozen=True)
class SnapshotDocument:
    datanet: int
    cid: str
    contributor: str
    text: str


@dataclass(frozen=True)
class DatanetSnapshot:
    block: int
    datanets: tuple[SnapshotDatanet, ...]  # by increasing id
    documents: tuple[SnapshotDocument, ...]  # what is trained on, in batch and leaf order
    withheld: tuple[str, ...]  # CIDs left out: blocked by the content policy, or forged

    @property
    def data_root(self) -> str:
        return data_root([(d.datanet, d.cid) for d in self.documents])


def data_leaf(datanet: int, cid: str) -> bytes:
    """One trained-on contribution: its datanet and its CID's digest, so a CID shared by two
    datanets is two leaves."""
    return keccak(datanet.to_bytes(32, "big") + digest_from_cid(cid))


def data_root(items: list[tuple[int, str]]) -> str:
    """The Merkle root of the exact contributions trained on, in training order."""
    if not items:
        raise InputError("a data root needs at least one contribution")
    return "0x" + MerkleTree([data_leaf(d, c) for d, c in items]).root.hex()


def take_snapshot(
    registry: RegistryClient,
    store: BlobStore,
    index: ContributionIndex,
    policy: PolicySnapshot,
    names: list[str],
    block: int | None = None,
) -> DatanetSnapshot:
    """The contributions of datanets `names` registered at or before `block` (default: the
    latest block), without what the content policy blocks."""
    if not names:
        raise InputError("name at least one datanet to train on (`--datanet NAME`)")
    if len(set(names)) > MAX_DATANETS:
        raise InputError(f"a model is trained on at most {MAX_DATANETS} datanets")
    at = registry.chain.block_number() if block is None else block
    index.sync(registry, store)
    datanets = tuple(_datanet_at(registry, r, at) for r in resolve_datanets(registry, names))
    documents: list[SnapshotDocument] = []
    withheld: list[str] = []
    for datanet in datanets:
        _collect(store, index, policy, datanet, documents, withheld)
    if not documents:
        raise InputError(
            f"the snapshot at block {at} holds no contribution that may be trained on "
            f"({len(withheld)} withheld by the content policy or forged)"
        )
    return DatanetSnapshot(at, datanets, tuple(documents), tuple(withheld))


def _datanet_at(registry: RegistryClient, record: DatanetRecord, block: int) -> SnapshotDatanet:
    if record.created_block > block:
        raise InputError(
            f"datanet {record.name!r} was created at block {record.created_block}, after the "
            f"snapshot block {block}: snapshot a later block"
        )
    batches = []
    for i in range(record.batch_count):
        batch = registry.batch(registry.datanet_batch(record.id, i))
        if batch.block_number > block:
            break
        batches.append(batch)
    if not batches:
        raise InputError(
            f"datanet {record.name!r} has no contributions registered at or before block "
            f"{block}: contribute to it first (`tessera contribute {record.name} FILES`)"
        )
    return SnapshotDatanet(record, tuple(batches))


def _collect(
    store: BlobStore,
    index: ContributionIndex,
    policy: PolicySnapshot,
    datanet: SnapshotDatanet,
    documents: list[SnapshotDocument],
    withheld: list[str],
) -> None:
    in_snapshot = {b.id for b in datanet.batches}
    missing = sorted(in_snapshot & set(index.unavailable_batches(datanet.record.id)))
    if missing:
        raise NotFoundError(
            f"the manifests of batches {missing} of datanet {datanet.record.name!r} are not in "
            "this home's store nor on the network: the snapshot cannot be read in full"
        )
    blocked_datanet = datanet.record.id in policy.blocked_datanets
    for item in index.contributions(datanet.record.id):
        if item.batch not in in_snapshot:
            continue
        if blocked_datanet or not item.signature_ok or item.cid in policy.blocked_cids:
            withheld.append(item.cid)
            continue
        text = store.get(item.cid).decode("utf-8", errors="replace")
        documents.append(SnapshotDocument(item.datanet, item.cid, item.contributor, text))

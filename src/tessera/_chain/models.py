"""Typed client of models.vy: model versions published with their provenance.

A model id is bound to its first publisher (its builder), and a weights digest to the first
version that names it; each publish appends a version, and old versions stay readable. Every
rule the contract applies is checked here first, so bad input is refused in one sentence
before any gas is spent, and a publish either lands whole or not at all (one transaction).
"""

from __future__ import annotations

import re
from functools import cached_property
from itertools import pairwise
from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount
from web3 import Web3

from tessera._chain.client import Chain
from tessera._chain.registry import RegistryClient
from tessera._errors import ChainError, ContractRevert, InputError, NotFoundError

MAX_MODEL_ID = 128  # bytes, models.vy's bound (policy.vy's too)
MAX_CID = 128  # bytes, models.vy's bound on the manifest's CID
MAX_DATANETS = 16  # models.vy's bound on the datanets of one snapshot
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")

# what to do about each refusal the contract can give (it is checked here first, so these
# show only when the chain moved between the check and the transaction)
_REVERT_HINTS = {
    "models: model id bound to another builder": (
        "another account published this model id first: publish under a name of your own"
    ),
    "models: digest already published": (
        "these exact weights are already on chain as a model version: train or import "
        "different weights, or use the published version"
    ),
    "models: unknown datanet": "name a datanet that exists on this deployment",
    "models: more batches than the datanet has": (
        "a snapshot can name only batches already registered: retrain on the current ones"
    ),
}


class Snapshot(NamedTuple):
    """The data a model version was trained on: datanet ids, strictly increasing, and for each
    the number of its first batches (in registration order) that were included."""

    datanets: tuple[int, ...]
    batch_counts: tuple[int, ...]


class ModelRecord(NamedTuple):
    """One published version of a model; digests and hashes are 0x-hex of 32 bytes."""

    model_id: str
    version: int  # numbered from 1, in order of publication
    builder: str  # the account the model id is bound to
    weights_digest: str  # as `tessera._models.digest.weights_digest` returns it
    base_digest: str  # the base model's weights digest
    manifest_cid: str  # the model folder's manifest in the store
    snapshot: Snapshot
    data_root: str  # the Merkle root of the contribution CIDs trained on
    data_count: int  # how many contributions
    config_hash: str  # the training config's hash
    data_proven: bool  # False: the data is declared (an imported adapter), not proven
    block: int  # the block it was published in


class ModelRegistryClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("models", address)

    @cached_property
    def registry(self) -> RegistryClient:
        """The datanet registry that snapshots are checked against."""
        return RegistryClient(self.chain, self.chain.call(self.contract.functions.registry()))

    # writes ---------------------------------------------------------------------------------

    def publish(
        self,
        sender: LocalAccount,
        model_id: str,
        weights_digest: str,
        base_digest: str,
        manifest_cid: str,
        snapshot: Snapshot,
        data_root: str,
        data_count: int,
        config_hash: str,
        data_proven: bool,
    ) -> ModelRecord:
        """Publish a new version of `model_id`, built by `sender`; returns it as recorded.
        Raises InputError on a malformed value, NotFoundError for an unknown datanet and
        ChainError when the id or digest is someone else's; nothing is sent then."""
        # the contract's rules that need no chain state, then those that do
        _check_id(model_id)
        weights = _bytes32(weights_digest, "the weights digest")
        base = _bytes32(base_digest, "the base model's digest")
        _check_manifest_cid(manifest_cid)
        datanets, counts = _check_snapshot_shape(snapshot)
        _check_data(data_count, data_proven)
        root = _bytes32(data_root, "the data root", zero_ok=not data_proven)
        config = _bytes32(config_hash, "the training config's hash")
        self._check_free(sender.address, model_id, weights_digest)
        self._check_snapshot_exists(datanets, counts)
        fn = self.contract.functions.publish(
            model_id, weights, base, manifest_cid, datanets, counts, root, data_count, config,
            data_proven,
        )  # fmt: skip
        try:
            receipt = self.chain.transact(fn, sender)
        except ContractRevert as exc:
            raise ContractRevert(exc.reason, _REVERT_HINTS.get(exc.reason, "")) from None
        (published,) = self.contract.events.ModelPublished().process_receipt(receipt)
        return self.version(model_id, int(published["args"]["version"]))

    # reads ----------------------------------------------------------------------------------

    def builder(self, model_id: str) -> str | None:
        """The account `model_id` is bound to, or None while nobody published it."""
        found = str(self.chain.call(self.contract.functions.builder(model_id)))
        return None if int(found, 16) == 0 else Web3.to_checksum_address(found)

    def version_count(self, model_id: str) -> int:
        return int(self.chain.call(self.contract.functions.version_count(model_id)))

    def version(self, model_id: str, number: int, block: int | None = None) -> ModelRecord:
        """Version `number` (from 1) of `model_id`; NotFoundError if there is none."""
        return self._version(model_id, number, self._builder_at(model_id, block), block)

    def versions(self, model_id: str) -> list[ModelRecord]:
        """Every version of `model_id`, oldest first (empty if never published), read at one
        block so they belong together."""
        block = self.chain.block_number()
        count = int(self.chain.call(self.contract.functions.version_count(model_id), block))
        if not count:
            return []
        builder = self._builder_at(model_id, block)  # one for all: an id's builder never changes
        return [self._version(model_id, n, builder, block) for n in range(1, count + 1)]

    def _builder_at(self, model_id: str, block: int | None) -> str:
        found = self.chain.call(self.contract.functions.builder(model_id), block)
        return Web3.to_checksum_address(found)

    def _version(self, model_id: str, number: int, builder: str, block: int | None) -> ModelRecord:
        try:
            fields = self.chain.call(self.contract.functions.version(model_id, number), block)
        except ContractRevert:
            raise NotFoundError(
                f"model {model_id!r} has no version {number}: `tessera model show` lists them"
            ) from None
        return _record(model_id, number, builder, fields)

    def latest(self, model_id: str) -> ModelRecord | None:
        """The newest version of `model_id`, or None if it was never published."""
        block = self.chain.block_number()
        count = int(self.chain.call(self.contract.functions.version_count(model_id), block))
        return self.version(model_id, count, block) if count else None

    def model_ids(self) -> list[str]:
        """Every published model id, in order of first publication."""
        f = self.contract.functions
        block = self.chain.block_number()
        count = int(self.chain.call(f.model_count(), block))
        return [str(self.chain.call(f.model_id_at(i), block)) for i in range(count)]

    def head(self) -> int:
        """The chain's latest block: `published` reads up to it."""
        return self.chain.block_number()

    def published(self, from_block: int, to_block: int) -> list[ModelRecord]:
        """Every version published in blocks `from_block` to `to_block`, in order, from the
        registry's ModelPublished logs: one read however many models there are."""
        if from_block > to_block:  # an empty range (some nodes refuse one past their head)
            return []
        logs = self.chain.log_index.read(self.contract.events.ModelPublished, from_block, to_block)
        return [_logged(log) for log in logs]

    def by_digest(self, weights_digest: str) -> ModelRecord | None:
        """The version published with these weights, or None if none was."""
        digest = _bytes32(weights_digest, "the weights digest")
        f = self.contract.functions
        block = self.chain.block_number()
        number = int(self.chain.call(f.digest_version(digest), block))
        if number == 0:
            return None
        return self.version(str(self.chain.call(f.digest_model(digest), block)), number, block)

    # internals ------------------------------------------------------------------------------

    def _check_free(self, sender: str, model_id: str, weights_digest: str) -> None:
        """The contract's binding rules: the id is unbound or the sender's, the digest new."""
        builder = self.builder(model_id)
        if builder is not None and builder != Web3.to_checksum_address(sender):
            raise ChainError(
                f"model id {model_id!r} is bound to its builder {builder}: only that account "
                "publishes new versions of it; publish under a name of your own"
            )
        taken = self.by_digest(weights_digest)
        if taken is not None:
            raise ChainError(
                f"weights {weights_digest} are already published as version {taken.version} "
                f"of {taken.model_id!r} by {taken.builder}: a version is published once; "
                "publish different weights"
            )

    def _check_snapshot_exists(self, datanets: list[int], counts: list[int]) -> None:
        """Each datanet exists and has at least as many batches as the snapshot names."""
        known = self.registry.datanet_count()
        for datanet, count in zip(datanets, counts, strict=True):
            if datanet > known:
                raise NotFoundError(
                    f"there is no datanet {datanet} on this deployment (it has {known}): "
                    "name the datanets the model was trained on"
                )
            registered = self.registry.datanet(datanet).batch_count
            if count > registered:
                raise InputError(
                    f"the snapshot names {count} batches of datanet {datanet}, which has "
                    f"{registered}: name only batches already registered"
                )


# ModelVersion's fields before its block, in order: what a ModelPublished log carries too
_VERSION_FIELDS = (
    "weights_digest", "base_digest", "manifest_cid", "datanets", "batch_counts",
    "data_root", "data_count", "config_hash", "data_proven",
)  # fmt: skip


def _logged(log: Any) -> ModelRecord:
    """A ModelPublished log as the record `version` reads: the same fields, the log's block."""
    a = log["args"]
    fields = (*(a[name] for name in _VERSION_FIELDS), log["blockNumber"])
    builder = Web3.to_checksum_address(a["builder"])
    return _record(str(a["model_id"]), int(a["version"]), builder, fields)


def _record(model_id: str, number: int, builder: str, fields: Any) -> ModelRecord:
    weights, base, cid, datanets, counts, root, data_count, config, proven, block = fields
    return ModelRecord(
        model_id=model_id,
        version=number,
        builder=builder,
        weights_digest=_hex(weights),
        base_digest=_hex(base),
        manifest_cid=str(cid),
        snapshot=Snapshot(tuple(int(d) for d in datanets), tuple(int(c) for c in counts)),
        data_root=_hex(root),
        data_count=int(data_count),
        config_hash=_hex(config),
        data_proven=bool(proven),
        block=int(block),
    )


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _bytes32(value: object, what: str, zero_ok: bool = False) -> bytes:
    """`value` (0x and 64 hex digits) as 32 bytes; InputError otherwise, or if it is zero."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise InputError(f"{what} must be 0x and 64 hex digits (32 bytes), not {value!r}")
    raw = bytes.fromhex(value[2:])
    if not zero_ok and not any(raw):
        raise InputError(f"{what} is zero: give the real one")
    return raw


def _check_id(model_id: object) -> None:
    if not isinstance(model_id, str) or not 0 < len(model_id.encode()) <= MAX_MODEL_ID:
        raise InputError(
            f"a model id has 1 to {MAX_MODEL_ID} bytes, such as my-adapter, not {model_id!r}"
        )


def _check_manifest_cid(cid: object) -> None:
    if not isinstance(cid, str) or not 0 < len(cid.encode()) <= MAX_CID:
        raise InputError(
            f"the manifest CID has 1 to {MAX_CID} bytes, not {cid!r}: publish the model folder "
            "to the store first and give the CID it returns"
        )


def _check_data(data_count: object, data_proven: object) -> None:
    if not isinstance(data_proven, bool):
        raise InputError(f"data_proven is True or False, not {data_proven!r}")
    if not _is_uint(data_count):
        raise InputError(f"the data count is a whole number of contributions, not {data_count!r}")
    if data_proven and data_count == 0:
        raise InputError(
            "proven training data names at least one contribution: give the count of "
            "contributions trained on, or publish the data as declared"
        )


def _check_snapshot_shape(snapshot: object) -> tuple[list[int], list[int]]:
    """The snapshot's rules that need no chain: 1 to MAX_DATANETS datanets, strictly
    increasing ids from 1, one count of at least 1 per datanet."""
    if not isinstance(snapshot, Snapshot):
        raise InputError(f"the snapshot is a Snapshot(datanets, batch_counts), not {snapshot!r}")
    datanets, counts = list(snapshot.datanets), list(snapshot.batch_counts)
    if not 0 < len(datanets) <= MAX_DATANETS:
        raise InputError(
            f"a snapshot names 1 to {MAX_DATANETS} datanets, not {len(datanets)}: name the "
            "datanets the model was trained on"
        )
    if len(counts) != len(datanets):
        raise InputError(
            f"the snapshot has {len(datanets)} datanets but {len(counts)} batch counts: give "
            "one count per datanet"
        )
    if not all(_is_uint(d) and d > 0 for d in datanets):
        raise InputError(f"datanet ids are whole numbers from 1, not {datanets}")
    if any(later <= earlier for earlier, later in pairwise(datanets)):
        raise InputError(
            f"the snapshot's datanets {datanets} must be strictly increasing: sort them and "
            "name each once"
        )
    if not all(_is_uint(c) and c > 0 for c in counts):
        raise InputError(
            f"each batch count is at least 1, not {counts}: leave out a datanet the model was "
            "not trained on"
        )
    return datanets, counts


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**256

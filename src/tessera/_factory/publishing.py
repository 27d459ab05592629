"""Publish an adapter with its provenance: files into the store by CID, one record on chain.

Everything that can be refused is checked before anything is stored or sent: the name's
builder, the folder (a plain LoRA adapter on the base it names), the provenance's data root,
and the snapshot against the chain. The chain's own checks (binding of id and digest, the
snapshot against the registry) then decide; a refused transaction leaves only content-addressed
blocks in the store, which name nothing.
"""

from __future__ import annotations

from pathlib import Path

from eth_account.signers.local import LocalAccount

from tessera._chain.models import ModelRecord, ModelRegistryClient, Snapshot
from tessera._chain.registry import RegistryClient
from tessera._data.datanets import chain_snapshot_root
from tessera._errors import InputError, ModelError
from tessera._factory.provenance import Provenance, read_provenance
from tessera._models.adapter import read_adapter
from tessera._models.digest import weights_digest
from tessera._models.publication import publish_model
from tessera._store.base import BlobStore


def check_builder(models: ModelRegistryClient, name: str, builder: str) -> None:
    """Refuse early (before a training run) a name another builder holds."""
    bound = models.builder(name)
    if bound is not None and bound.lower() != builder.lower():
        raise InputError(
            f"model id {name!r} is bound to builder {bound}: only they publish under it; "
            "pick another name"
        )


def publish_adapter(
    store: BlobStore,
    registry: RegistryClient,
    models: ModelRegistryClient,
    builder: LocalAccount,
    folder: Path,
    name: str,
) -> ModelRecord:
    """Publish the adapter in `folder` as a new version of model `name`."""
    provenance = read_provenance(folder)
    if provenance.model_id != name:
        raise InputError(
            f"{folder} holds model {provenance.model_id!r}, not {name!r}: publish it under the "
            "name it was trained as"
        )
    if provenance.builder.lower() != builder.address.lower():
        raise InputError(
            f"{folder} was built by {provenance.builder}, not {builder.address}: its builder "
            "publishes it (`--as` their account)"
        )
    read_adapter(Path(folder))  # a plain LoRA adapter, within bounds, or one clear refusal
    check_builder(models, name, builder.address)
    _check_snapshot(registry, provenance)
    if models.by_digest(weights_digest(Path(folder))) is not None:
        raise InputError(
            f"this exact adapter is already published: `tessera model show {name}` lists "
            "its versions; train again for a new one"
        )
    manifest = publish_model(store, Path(folder), name)
    return models.publish(
        builder,
        name,
        manifest.weights_digest,
        provenance.base_digest,
        manifest.cid,
        Snapshot(tuple(d.id for d in provenance.datanets),
                 tuple(d.batches for d in provenance.datanets)),
        provenance.data_root,
        len(provenance.contributions),
        provenance.config_hash,
        provenance.proven,
    )  # fmt: skip


def _check_snapshot(registry: RegistryClient, provenance: Provenance) -> None:
    if not provenance.datanets:
        raise ModelError("the adapter names no datanet it was trained on or declares")
    for entry in provenance.datanets:
        if not provenance.proven:
            continue  # declared: the chain checks the ids and counts exist, nothing more
        on_chain = chain_snapshot_root(registry, entry.id, entry.batches)
        if on_chain != entry.root:
            raise ModelError(
                f"datanet #{entry.id}'s first {entry.batches} batches have root {on_chain} on "
                f"this chain, not the {entry.root} the adapter was trained on: it was trained "
                "against another chain"
            )

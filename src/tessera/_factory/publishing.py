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

from tessera._chain.models import ModelRecord, ModelRegistryClient
from tessera._chain.registry import RegistryClient
from tessera._errors import InputError, ModelError
from tessera._factory.provenance import artefact_problems, read_provenance, snapshot_problems
from tessera._models.adapter import read_adapter
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
    adapter = read_adapter(Path(folder))  # plain LoRA within bounds, or one clear refusal
    check_builder(models, name, builder.address)
    if not provenance.datanets:
        raise ModelError("the adapter names no datanet it was trained on or declares")
    problems = snapshot_problems(registry, provenance)
    if problems:
        raise ModelError(f"{problems[0]}: it was trained against another chain")
    problems = artefact_problems(folder, provenance)
    if problems:
        raise ModelError(f"{problems[0]}: train it again with `tessera model train`")
    if models.by_digest(adapter.digest) is not None:
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
        provenance.snapshot,
        provenance.data_root,
        len(provenance.contributions),
        provenance.config_hash,
        provenance.proven,
    )  # fmt: skip

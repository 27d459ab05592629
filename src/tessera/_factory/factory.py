"""The model factory of one home: train, import, publish, show and trace adapters.

Adapters live in HOME/adapters/NAME (what is published: weights, config, card, provenance);
training checkpoints live beside them in HOME/adapters/.checkpoints/NAME, outside the folder
whose digest is the version; fetched versions are cached in HOME/models/DIGEST.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from tessera._chain.governance import PolicyClient
from tessera._chain.models import ModelRecord, ModelRegistryClient
from tessera._chain.registry import RegistryClient
from tessera._crypto.receipt import Receipt
from tessera._data.index import ContributionIndex
from tessera._data.snapshot import DatanetSnapshot, take_snapshot
from tessera._errors import NotFoundError
from tessera._factory.importing import import_adapter
from tessera._factory.provenance import (
    artefacts_of,
    check_model_name,
    from_snapshot,
    write_provenance,
)
from tessera._factory.publishing import check_builder, publish_adapter
from tessera._factory.tracing import ModelTrace, trace_receipt, trace_version
from tessera._models.digest import weights_digest
from tessera._store.base import BlobStore

if TYPE_CHECKING:
    from tessera._models.training import TrainProgress, TrainResult, TrainSettings
    from tessera._models.training_data import TrainingDocument


@dataclass(frozen=True)
class TrainedModel:
    folder: Path  # HOME/adapters/NAME: publish it with `publish`
    snapshot: DatanetSnapshot
    result: TrainResult


@dataclass
class ModelFactory:
    registry: RegistryClient
    models: ModelRegistryClient
    policy: PolicyClient
    store: BlobStore
    index: ContributionIndex
    home: Path

    def adapter_dir(self, name: str) -> Path:
        return self.home / "adapters" / check_model_name(name)

    def checkpoint_dir(self, name: str) -> Path:
        return self.home / "adapters" / ".checkpoints" / check_model_name(name)

    def train(
        self,
        builder: str,
        name: str,
        datanets: list[str],
        base: tuple[Path, str],
        settings: TrainSettings,
        block: int | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
    ) -> TrainedModel:
        """Train adapter `name` on a snapshot of `datanets` at `block` over `base` (folder,
        id). A run killed at any point resumes from its checkpoint when started again."""
        from tessera._models.model_card import Provenance as Card
        from tessera._models.training import train_adapter

        check_builder(self.models, name, builder)  # before hours of training, not after
        # a killed run resumes on the snapshot it started with, however the datanets moved on
        pending = self.checkpoint_dir(name) / "snapshot-block"
        if block is None and pending.is_file():
            block = int(pending.read_text())
        snapshot = take_snapshot(
            self.registry, self.store, self.index, self.policy.snapshot(), datanets, block
        )
        pending.parent.mkdir(parents=True, exist_ok=True)
        pending.write_text(str(snapshot.block))
        card = Card(
            name=name,
            base_name=base[1],
            datasets=tuple(d.record.name for d in snapshot.datanets),
            licenses=tuple(sorted({d.record.license for d in snapshot.datanets})),
            snapshot={d.record.name: {"id": d.record.id, "batches": len(d.batches),
                                      "root": d.root} for d in snapshot.datanets},
        )  # fmt: skip
        base_digest = weights_digest(base[0])
        # one checkpoint per (data, base, recipe): a run resumes only the run it was
        run = json.dumps([snapshot.data_root, base_digest, settings.recipe()], sort_keys=True)
        checkpoints = self.checkpoint_dir(name) / hashlib.sha256(run.encode()).hexdigest()[:16]
        staging = self.home / "adapters" / ".staging" / name
        shutil.rmtree(staging, ignore_errors=True)  # a finished run's output, not its state
        result = train_adapter(
            base[0], _documents(snapshot), settings, staging, progress, checkpoints, card,
            base_digest=base_digest,
        )  # fmt: skip
        write_provenance(
            staging,
            from_snapshot(name, builder, base[1], base_digest, snapshot, result.config_hash,
                          settings.recipe(), artefacts_of(staging)),
        )  # fmt: skip
        folder = self.adapter_dir(name)
        shutil.rmtree(folder, ignore_errors=True)  # the new version replaces the old files
        staging.rename(folder)
        shutil.rmtree(checkpoints, ignore_errors=True)  # done: the next run starts afresh
        pending.unlink(missing_ok=True)
        return TrainedModel(folder, snapshot, result)

    def import_peft(
        self,
        builder: str,
        source: Path,
        name: str,
        declared: list[str],
        base_folder: Path,
        base_model: str,
    ) -> Path:
        return import_adapter(
            self.registry, builder, source, name, declared, (base_folder, base_model),
            self.adapter_dir(name),
        )  # fmt: skip

    def publish(self, builder: LocalAccount, name: str) -> ModelRecord:
        folder = self.adapter_dir(name)
        if not folder.is_dir():
            raise NotFoundError(
                f"there is no adapter named {name!r} in this home: train it with `tessera model "
                f"train {name} --datanet D` or bring one in with `tessera model import`"
            )
        return publish_adapter(self.store, self.registry, self.models, builder, folder, name)

    def versions(self, name: str) -> list[ModelRecord]:
        versions = self.models.versions(check_model_name(name))
        if not versions:
            raise NotFoundError(
                f"no model named {name!r} is published on this chain: `tessera model list` "
                "shows those that are"
            )
        return versions

    def trace(self, name: str, version: int | None = None) -> ModelTrace:
        versions = self.versions(name)  # numbered from 1
        if version is not None and not 1 <= version <= len(versions):
            raise NotFoundError(f"model {name!r} has versions 1 to {len(versions)}")
        record = versions[-1 if version is None else version - 1]
        return trace_version(self.store, self.registry, self.index, record, self._cache)

    def trace_receipt(self, receipt: Receipt) -> ModelTrace:
        return trace_receipt(
            self.store, self.registry, self.index, self.models, receipt, self._cache
        )

    @property
    def _cache(self) -> Path:
        return self.home / "models"


def _documents(snapshot: DatanetSnapshot) -> list[TrainingDocument]:
    from tessera._models.training_data import TrainingDocument

    return [TrainingDocument(d.cid, d.text) for d in snapshot.documents]

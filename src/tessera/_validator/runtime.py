"""Assemble a validator from explicit parts: the model it re-executes on, a follower that
indexes every datanet (retrieval is re-run over each receipt's snapshot), and the daemon.

tessera validator start --stake 1000 --as val
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tessera._attribution.training import LearnedIndex
from tessera._chain.staking import StakingClient
from tessera._crypto.receipt import DatanetSnapshot
from tessera._data.datanets import snapshot_root
from tessera._data.index import ContributionIndex
from tessera._data.vectors import Hit, VectorIndex
from tessera._errors import TesseraError
from tessera._models.digest import weights_digest
from tessera._network.metadata import NodeMetadata
from tessera._node.adapters import AdapterFolders, bank_for
from tessera._node.catalog import ALL_ADAPTERS, AdapterCatalog, CatalogSource, model_registry
from tessera._node.follower import Follower
from tessera._node.learned import LearnedAdapters
from tessera._node.policy import PolicyWatch
from tessera._node.runtime import owners_on_chain
from tessera._parts import NodeParts, ValidatorParts
from tessera._store.base import BlobStore
from tessera._validator.daemon import Validator
from tessera._validator.journal import ValidatorJournal
from tessera._validator.recheck import Rechecker, RecheckModel, RecheckWorld
from tessera._validator.terms import NodeTerms


@dataclass(frozen=True)
class ValidatorConfig:
    model_path: str | None = None  # None: the default Gemma 3 270M
    sample_rate: float | None = None  # None: the stake's share of the network's rate
    tick_s: float = 5.0
    follow_interval_s: float = 2.0
    adapter_memory_mib: int = 256  # adapters re-checked are held in slots fitting in this
    adapter_rank: int = 16  # the highest adapter rank it re-checks


@dataclass
class ValidatorRuntime:
    validator: Validator
    rechecker: Rechecker
    follower: Follower
    vectors: VectorIndex
    generator: Any  # the loaded model: another validator in this process can share it

    def close(self) -> None:
        self.validator.stop()
        self.follower.stop()
        self.vectors.close()
        self.validator.journal.close()


def build_validator(
    parts: ValidatorParts,
    config: ValidatorConfig,
    generator: Any = None,
    embedder: Any = None,
    catalog: CatalogSource | None = None,
) -> ValidatorRuntime:
    """Load (or take) the models, index every datanet, and wire the daemon. `catalog`: the
    model registry, to re-check adapter answers on the adapter their receipt names (its bank
    wraps `generator`'s model, so a node in this process needs a copy of its own)."""
    from tessera._models import load_embedder, load_generator

    generator = generator or load_generator(config.model_path)
    embedder = embedder or load_embedder()
    t = parts.node
    deployment = t.deployment
    embedder_id = hashlib.sha256(str(embedder.folder).encode()).hexdigest()[:12]
    folder = t.home.path / "validator"
    name = f"vectors-{deployment.chain_id}-{deployment.registry.lower()}-{embedder_id}.sqlite"
    vectors = VectorIndex(folder / name, embedder.dim)
    index_path = folder / f"index-{deployment.chain_id}-{deployment.registry.lower()}.sqlite"
    follower = Follower(t.registry, t.store, index_path, vectors, embedder.embed, ())
    follower.sync_once()
    policy = PolicyWatch(t.policy)
    policy.load()
    world = RecheckWorld(
        documents=t.store.get,
        retrieve=SnapshotRetrieval(follower, vectors, embedder.embed, policy).retrieve,
        terms=NodeTermsReader(t.staking, t.store).terms,
        approved=t.policy.was_approved,
        chain_id=deployment.chain_id,
        verifying_contract=deployment.registry,
        training_weight=lambda at: t.policy.snapshot().training_weight_at(at),
    )
    model = _recheck_model(t, config, generator, catalog)
    rechecker = Rechecker(model, world)
    validator = Validator(
        t.node_key,
        t.settlement,
        parts.disputes,
        t.store,
        ValidatorJournal(parts.journal_path),
        rechecker.recheck,
        t.policy,
        t.staking,
        config.sample_rate,
        deployment.block,
    )
    follower.start(config.follow_interval_s)
    return ValidatorRuntime(validator, rechecker, follower, vectors, generator)


def _recheck_model(
    t: NodeParts, config: ValidatorConfig, generator: Any, catalog: CatalogSource | None
) -> RecheckModel:
    """The base weights, and the adapters on them, fetched by digest through the registry."""
    base = weights_digest(generator.folder)
    source = catalog if catalog is not None else model_registry(t)
    adapters = AdapterCatalog(source, base, (ALL_ADAPTERS,), refresh_s=float("inf"))
    folders = AdapterFolders(t.store, t.home.path / "models")
    bank = bank_for(generator.model, config.adapter_memory_mib, config.adapter_rank)
    tokenizer = generator.tokenizer
    index = LearnedIndex.for_tokenizer(tokenizer)

    def folder(digest: str) -> Path | None:
        version = adapters.by_digest(digest)
        return folders.folder(version) if version is not None else None

    return RecheckModel(
        generator.model, generator.tokenizer, base, bank=bank,
        adapters=functools.partial(folders.loader, adapters),
        learned=LearnedAdapters(index, owners_on_chain(t)), folder=folder,
    )  # fmt: skip


class SnapshotRetrieval:
    """The node's retrieval, over exactly the batches a receipt's snapshot names."""

    def __init__(
        self, follower: Follower, vectors: VectorIndex, embed: Any, policy: PolicyWatch
    ) -> None:
        self.follower, self.vectors, self.embed, self.policy = follower, vectors, embed, policy

    def retrieve(self, text: str, snapshots: tuple[DatanetSnapshot, ...], k: int) -> Sequence[Hit]:
        index = ContributionIndex(self.follower.index_path)
        try:
            later = self._later_than(index, snapshots)
        finally:
            index.close()
        blocked = frozenset(self.policy.current().blocked_cids) | later
        query = self.embed([text])[0]
        return self.vectors.search(query, k, [s.datanet for s in snapshots], exclude=blocked)

    @staticmethod
    def _later_than(index: ContributionIndex, snapshots: tuple[DatanetSnapshot, ...]) -> set[str]:
        """CIDs registered after each snapshot: the node could not have retrieved them."""
        later: set[str] = set()
        for snap in snapshots:
            roots = index.batch_roots(snap.datanet)
            if len(roots) < snap.batches or snapshot_root(roots[: snap.batches]) != snap.root:
                raise TesseraError(
                    f"datanet {snap.datanet} is not indexed here as the receipt's snapshot "
                    f"({snap.batches} batches, root {snap.root}): cannot re-run its retrieval"
                )
            kept = set(index.batch_ids(snap.datanet)[: snap.batches])
            later |= {c.cid for c in index.contributions(snap.datanet) if c.batch not in kept}
        return later


class NodeTermsReader:
    """A node's advertised prices, from the metadata its registration names (checked by CID)."""

    def __init__(self, staking: StakingClient, store: BlobStore) -> None:
        self.staking, self.store = staking, store
        self._cache: dict[str, NodeTerms] = {}

    def terms(self, node: str) -> NodeTerms:
        if node not in self._cache:
            record = self.staking.node(node)
            meta = NodeMetadata.from_bytes(self.store.get(record.metadata_cid))
            self._cache[node] = NodeTerms(
                meta.input_price, meta.output_price, default_max_tokens=meta.default_max_tokens
            )
        return self._cache[node]

"""Assemble a node from explicit parts: models, engine, follower, receipts, HTTP app.

tessera node start --datanet wiki --port 8000
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from tessera._attribution.masked_ablation import MaskedAblation
from tessera._attribution.training import LearnedIndex, TrainingSpans
from tessera._data.index import ContributionIndex
from tessera._data.vectors import VectorIndex
from tessera._errors import AccountError
from tessera._factory.tracing import trace_folder
from tessera._inference.engine import Engine
from tessera._inference.prompt import PromptBuilder
from tessera._models.digest import weights_digest
from tessera._node.adapters import AdapterFolders, ServedAdapters, bank_for
from tessera._node.catalog import AdapterCatalog, CatalogSource, model_registry
from tessera._node.config import NodeConfig
from tessera._node.follower import Follower
from tessera._node.health import SettlementHealth
from tessera._node.learned import LearnedAdapters, Owner, Trace
from tessera._node.payments import PaymentGate
from tessera._node.policy import PolicyWatch
from tessera._node.replication import BundleKeeper
from tessera._node.service import ChainAndStorage, NodeService, ServedModel
from tessera._parts import NodeParts
from tessera._payments.epochs import EpochSettler
from tessera._payments.ledger import open_node_db

log = logging.getLogger(__name__)


@dataclass
class Node:
    service: NodeService
    app: Any
    follower: Follower
    engine: Engine
    settler: EpochSettler
    serving_lock: IO[str] | None = None
    slashed: Callable[[], int] | None = None  # reads what challenges slashed from this node
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def health(self) -> SettlementHealth:
        return self.service.settlement_health

    def start_settling(self, every_s: float) -> None:
        """Settle each epoch as soon as it is due, in the background."""
        threading.Thread(target=self._settle_loop, args=(every_s,), daemon=True).start()

    def settle_now(self) -> None:
        """One turn of the settling loop: settle if due, then re-check what is owed."""
        health = self.health
        self._watch_slashes()
        try:
            if self.settler.due():
                result = self.settler.settle()
                if result is not None:
                    log.info("settled epoch %d: %d receipts", result.epoch, result.receipts)
            status = self.settler.status()
            if health.error is not None:
                log.info("settlement works again")
            health.error = None
        except Exception as exc:  # keep serving; /health, `tessera node status` and the log say
            if health.error != f"{type(exc).__name__}: {exc}":
                log.error("settlement failed (the node keeps serving): %s", exc, exc_info=exc)
            health.error = f"{type(exc).__name__}: {exc}"
            return
        before = {u.client: u.owed for u in health.status.uncollectable} if health.status else {}
        for u in status.uncollectable:
            if before.get(u.client) != u.owed:
                log.warning(
                    "cannot redeem %d receipts (%d owed) of client %s: %s (%s)",
                    u.receipts,
                    u.owed,
                    u.client,
                    u.reason,
                    u.detail,
                )
        health.status = status

    def _watch_slashes(self) -> None:
        if self.slashed is None:
            return
        try:
            slashed = self.slashed()
        except Exception as exc:  # the chain is down: the settlement below says so too
            log.debug("could not read slashes: %s", exc)
            return
        if slashed > self.health.slashed:
            log.error(
                "validators' challenges slashed %d from this node's stake (%d in all): "
                "`tessera challenges --node %s` shows why",
                slashed - self.health.slashed,
                slashed,
                self.settler.node,
            )
        self.health.slashed = slashed

    def _settle_loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.settle_now()

    def close(self) -> None:
        self._stop.set()
        self.follower.stop()
        self.engine.close()
        self.service.receipts.close()
        self.service.vectors.close()
        if self.serving_lock is not None:
            self.serving_lock.close()  # releases the flock


def _hold_serving_lock(path: Path, node: str) -> IO[str]:
    """Refuse a second running node of the same account on one home: they would share and
    double-spend one channel's vouchers."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(path, "w")  # noqa: SIM115 - held for the node's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AccountError(
            f"a node of account {node} is already running on this home ({path}): stop it, "
            "or start this one as another account (--as NAME)"
        ) from None
    return handle


def build_node(
    parts: NodeParts,
    config: NodeConfig,
    generator: Any = None,
    embedder: Any = None,
    catalog: CatalogSource | None = None,
) -> Node:
    """Load (or take) the models, index the served datanets once, and wire the service.
    `catalog`: where the adapters (`config.adapters`) are read from (default: the
    deployment's model registry on chain)."""
    node_key = parts.node_key  # first: a second node of this account fails before loading
    serving = _hold_serving_lock(parts.home.serving_lock_path(node_key.address), node_key.address)
    try:
        return _assemble(parts, config, serving, (generator, embedder, catalog))
    except BaseException:
        serving.close()
        raise


def _assemble(
    t: NodeParts, config: NodeConfig, serving: IO[str], given: tuple[Any, Any, Any]
) -> Node:
    from tessera._models import load_embedder, load_generator
    from tessera._node.app import create_app

    generator = given[0] or load_generator(config.model_path)
    embedder = given[1] or load_embedder()
    if config.model_path and not config.model_id_given and config.model_id == NodeConfig.model_id:
        config = replace(config, model_id=f"local/{generator.folder.name}")
    digest = weights_digest(generator.folder)
    adapters = _adapters(t, config, generator, digest, given[2])
    model = _served_model(config, generator, embedder, digest, adapters)
    try:
        world = _chain_and_storage(t, config, _open_vectors(t, embedder), model.embed)
    except BaseException:
        model.engine.close()
        raise
    service = NodeService(config, model, world)
    world.receipts.set_model_digest(config.model_id, service.weights_digest)
    settler = EpochSettler(
        t.settlement,
        t.policy,
        t.store,
        world.receipts,
        t.node_key,
        t.home.settle_lock_path(t.node_key.address),
    )
    world.follower.start(config.follow_interval_s)
    address, since = t.node_key.address, t.deployment.block
    node = Node(
        service,
        create_app(service),
        world.follower,
        model.engine,
        settler,
        serving,
        lambda: t.staking.slashed(address, since),
    )
    if config.payments and config.settle_check_s:
        node.start_settling(config.settle_check_s)
    return node


def _adapters(
    t: NodeParts, config: NodeConfig, generator: Any, base: str, source: CatalogSource | None
) -> ServedAdapters | None:
    """The adapters `config` asks for on `generator`'s model (weights digest `base`), over a
    bank that wraps it."""
    if not config.adapters:
        return None
    source = source if source is not None else model_registry(t)
    catalog = AdapterCatalog(source, base, config.adapters, config.catalog_refresh_s)
    catalog.load()  # an adapter named that is not published fails here, before serving
    bank = bank_for(generator.model, config.adapter_memory_mib, config.adapter_rank)
    folders = AdapterFolders(t.store, t.home.path / "models")
    tokenizer = generator.tokenizer  # the served model's: spans are matched in its tokens
    index = LearnedIndex.for_tokenizer(tokenizer)
    learned = LearnedAdapters(index, owners_on_chain(t))
    return ServedAdapters(catalog, folders, bank, config.adapter_memory_mib, learned)


def owners_on_chain(t: NodeParts) -> Trace:
    """Who each contribution an adapter folder trained on belongs to, traced on chain."""

    def trace(folder: Path) -> dict[str, Owner]:
        index = ContributionIndex(t.home.index_path(t.deployment))
        try:
            traced = trace_folder(t.registry, t.store, index, folder)
        finally:
            index.close()
        return {c.cid: Owner(c.contributor, c.datanet) for c in reversed(traced)}

    return trace


def _served_model(
    config: NodeConfig,
    generator: Any,
    embedder: Any,
    digest: str,
    adapters: ServedAdapters | None,
) -> ServedModel:
    attributor = MaskedAblation(config.min_effect)  # the method the node pays by
    bank = adapters.bank if adapters is not None else None
    learned = adapters.learned if adapters is not None else None
    also = [TrainingSpans(learned.index)] if learned is not None else []
    engine = Engine(generator.model, generator.tokenizer, config.max_batch, attributor, bank, also)

    def embed(texts: list[str]) -> Any:
        with engine.lock:  # one torch user at a time (see Engine.lock)
            return embedder.embed(texts)

    return ServedModel(engine, PromptBuilder(generator.tokenizer), embed, digest, adapters)


def _open_vectors(t: NodeParts, embedder: Any) -> VectorIndex:
    """The served datanets' vectors, one index per chain, registry and embedder."""
    deployment = t.deployment
    embedder_id = hashlib.sha256(str(embedder.folder).encode()).hexdigest()[:12]
    name = f"vectors-{deployment.chain_id}-{deployment.registry.lower()}-{embedder_id}.sqlite"
    return VectorIndex(t.home.path / "node" / name, embedder.dim)


def _chain_and_storage(
    t: NodeParts, config: NodeConfig, vectors: VectorIndex, embed: Any
) -> ChainAndStorage:
    """Index the served datanets once (an unknown one fails here), read the content policy,
    and open the node's receipts."""
    deployment, node = t.deployment, t.node_key.address
    bundles = BundleKeeper(t.settlement, t.store, deployment.block)
    follower = Follower(
        t.registry, t.store, t.home.index_path(deployment), vectors, embed, config.datanets, bundles
    )
    follower.sync_once()  # fail fast on an unknown datanet; serve what exists from the start
    policy = PolicyWatch(t.policy)
    policy.load()
    receipts = open_node_db(t.home, deployment, node)
    payments = None
    if config.payments:
        gate = (t.settlement, receipts, node, deployment.chain_id, config.max_voucher_bytes)
        payments = PaymentGate(*gate)
    return ChainAndStorage(
        follower,
        vectors,
        t.store,
        receipts,
        t.node_key,
        deployment.chain_id,
        deployment.registry,
        payments,
        policy,
    )

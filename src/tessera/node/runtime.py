"""Assemble a node from a Tessera home: models, engine, follower, receipts, HTTP app.

tessera node start --datanet wiki --port 8000
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tessera.chain.governance import PolicyClient
from tessera.inference.engine import Engine
from tessera.inference.prompt import PromptBuilder
from tessera.models.digest import weights_digest
from tessera.node.config import NodeConfig
from tessera.node.follower import Follower
from tessera.node.payments import PaymentGate
from tessera.node.policy import PolicyWatch
from tessera.node.receipt_db import ReceiptDB
from tessera.node.service import NodeService
from tessera.node.settler import EpochSettler

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from tessera.api import Tessera


@dataclass
class Node:
    service: NodeService
    app: Any
    follower: Follower
    engine: Engine
    settler: EpochSettler
    _stop: threading.Event = field(default_factory=threading.Event)
    settle_error: str | None = None

    def start_settling(self, every_s: float) -> None:
        """Settle each epoch as soon as it is due, in the background."""
        threading.Thread(target=self._settle_loop, args=(every_s,), daemon=True).start()

    def _settle_loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                if self.settler.due():
                    result = self.settler.settle()
                    if result is not None:
                        log.info("settled epoch %d: %d receipts", result.epoch, result.receipts)
                self.settle_error = None
            except Exception as exc:  # keep serving; /health reports it
                self.settle_error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        self._stop.set()
        self.follower.stop()
        self.engine.close()
        self.service.receipts.close()
        self.service.vectors.close()


def build_node(
    t: Tessera,
    config: NodeConfig,
    account: str | None = None,
    generator: Any = None,
    embedder: Any = None,
) -> Node:
    """Load (or take) the models, index the served datanets once, and wire the service."""
    from tessera.data.vectors import VectorIndex
    from tessera.models import load_embedder, load_generator
    from tessera.node.app import create_app

    generator = generator or load_generator(config.model_path)
    embedder = embedder or load_embedder()
    if config.model_path and config.model_id == NodeConfig.model_id:
        config = replace(config, model_id=f"local/{generator.folder.name}")
    node_dir = t.home.path / "node"
    deployment = t.config.deployment
    embedder_id = hashlib.sha256(str(embedder.folder).encode()).hexdigest()[:12]
    vectors = VectorIndex(
        node_dir / f"vectors-{deployment.chain_id}-{deployment.registry.lower()}-{embedder_id}"
        ".sqlite",
        embedder.dim,
    )
    engine = Engine(generator.model, generator.tokenizer, config.max_batch)

    def embed(texts: list[str]) -> Any:
        with engine.lock:  # one torch user at a time (see Engine.lock)
            return embedder.embed(texts)

    follower = Follower(
        t.registry, t.store, t.home.index_path(deployment), vectors, embed, config.datanets
    )
    try:
        follower.sync_once()  # fail fast on an unknown datanet; serve what exists from the start
    except BaseException:
        engine.close()
        raise
    policy = PolicyWatch(PolicyClient(t.chain, deployment.policy))
    try:
        policy.load()
    except BaseException:
        engine.close()
        raise
    node_key = t.signer(account)
    receipts = ReceiptDB(t.home.node_db_path(deployment))
    payments = (
        PaymentGate(
            t.settlement,
            receipts,
            node_key.address,
            deployment.chain_id,
            config.max_voucher_bytes,
        )
        if config.payments
        else None
    )
    service = NodeService(
        config,
        engine,
        PromptBuilder(generator.tokenizer),
        embed,
        vectors,
        follower,
        t.store,
        receipts,
        node_key,
        deployment.chain_id,
        deployment.registry,
        payments,
        policy,
        weights_digest(generator.folder),
    )
    settler = EpochSettler(
        t.settlement, t.registry, t.store, receipts, node_key, t.home.settle_lock_path
    )
    follower.start(config.follow_interval_s)
    node = Node(service, create_app(service), follower, engine, settler)
    if config.payments and config.settle_check_s:
        node.start_settling(config.settle_check_s)
    return node

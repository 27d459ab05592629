"""Assemble a node from a Tessera home: models, engine, follower, receipts, HTTP app.

tessera node start --datanet wiki --port 8000
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tessera.inference.engine import Engine
from tessera.inference.prompt import PromptBuilder
from tessera.node.config import NodeConfig
from tessera.node.follower import Follower
from tessera.node.receipt_db import ReceiptDB
from tessera.node.service import NodeService

if TYPE_CHECKING:
    from tessera.api import Tessera


@dataclass
class Node:
    service: NodeService
    app: Any
    follower: Follower
    engine: Engine

    def close(self) -> None:
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
    service = NodeService(
        config,
        engine,
        PromptBuilder(generator.tokenizer),
        embed,
        vectors,
        follower,
        t.store,
        ReceiptDB(node_dir / "receipts.sqlite"),
        t.signer(account),
        deployment.chain_id,
        deployment.registry,
    )
    follower.start(config.follow_interval_s)
    return Node(service, create_app(service), follower, engine)

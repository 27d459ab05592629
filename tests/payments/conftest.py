"""A paying node on loopback (tiny models, in-process chain), two clients and a builder."""

from __future__ import annotations

import pytest
from gov_helpers import enact
from money_helpers import TSR
from node_helpers import start_node

from tessera._client import NodeClient


@pytest.fixture
def paying(tmp_path, wide_generator, tiny_embedder):
    """A fresh paying node per test: money tests must not share state."""
    node = start_node(
        tmp_path,
        wide_generator,
        tiny_embedder,
        account="operator",
        authors=("carol", "dave"),
        payments=True,
        settle_check_s=None,
    )
    t = node.t  # its default account deployed the contracts: it holds the supply, is treasury
    for name in ("alice", "bob", "builder"):
        t.new_account(name)
    approve = t.gov.actions.approve_model(
        node.service.config.model_id, node.service.weights_digest, t.address("builder")
    )
    enact(t, approve, "approve the served model; its builder is paid the royalty")
    t.transfer(100 * TSR, "alice")
    t.deposit(20 * TSR, "operator", "alice")
    yield node
    node.stop()


@pytest.fixture
def alice(paying):
    client = NodeClient(paying.url, payer=paying.t.payer("alice"))
    yield client
    client.close()

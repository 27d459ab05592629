"""A paying node on loopback (tiny models, in-process chain) and a client with escrow."""

from __future__ import annotations

import pytest
from money_helpers import TSR
from node_helpers import start_node


@pytest.fixture(scope="module")
def paying(tmp_path_factory, wide_generator, tiny_embedder):
    node = start_node(
        tmp_path_factory.mktemp("api"),
        wide_generator,
        tiny_embedder,
        payments=True,
        settle_check_s=None,
    )
    node.t.new_account("client")
    node.t.transfer(100 * TSR, "client")
    node.t.deposit(10 * TSR, node.service.node_key.address, "client")
    yield node
    node.stop()

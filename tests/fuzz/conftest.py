"""A live, paying node for the fuzz suite: tiny models, an in-process chain, five facts, and a
client with tokens in escrow whose one voucher pays for every request of a module, each
request with the client's authorization of its body."""

from __future__ import annotations

import pytest
from hostile_cases import budget_voucher, start_paying_node
from paid_requests import CHAT, paid_headers


@pytest.fixture(scope="module")
def live(tmp_path_factory, wide_generator, tiny_embedder):
    node = start_paying_node(tmp_path_factory.mktemp("node"), wide_generator, tiny_embedder)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def budget(live):
    """The voucher a well-behaved client sends: 10 TSR, far more than a module spends."""
    return budget_voucher(live)


@pytest.fixture(scope="module")
def paid_for(live, budget):
    """The headers a well-behaved client sends with a body to a path: the budget voucher and
    its authorization of the body (none where the node would refuse the body unread)."""
    node, voucher = live.service.node_key.address, budget.to_header()
    return lambda body, path=CHAT: paid_headers(live.t, node, voucher, body, path)

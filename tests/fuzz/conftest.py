"""A live, paying node for the fuzz suite: tiny models, an in-process chain, five facts, and a
client with tokens in escrow whose one voucher pays for every request of a module."""

from __future__ import annotations

import pytest
from hostile_cases import budget_voucher, start_paying_node

from tessera._crypto.voucher import VOUCHER_HEADER


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
def budget_header(budget):
    return {VOUCHER_HEADER: budget.to_header()}

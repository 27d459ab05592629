"""A live, paying node on loopback: tiny models, an in-process chain, a datanet of five facts,
and a client account with tokens in escrow."""

from __future__ import annotations

import pytest
from money_helpers import TSR
from node_helpers import start_node

from tessera._crypto.voucher import VOUCHER_HEADER


@pytest.fixture(scope="module")
def live(tmp_path_factory, wide_generator, tiny_embedder):
    node = start_node(tmp_path_factory.mktemp("node"), wide_generator, tiny_embedder, payments=True)
    t = node.t
    t.new_account("client")
    t.transfer(100 * TSR, "client")
    t.deposit(50 * TSR, node.service.node_key.address, "client")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def budget_header(live):
    """A voucher header authorising 10 TSR: enough for every request of a module."""
    node = live.service.node_key.address
    return {VOUCHER_HEADER: live.t.sign_voucher(node, 10 * TSR, "client").to_header()}


@pytest.fixture
def openai_client(live, budget_header):
    from openai import OpenAI

    return OpenAI(
        base_url=live.url + "/v1",
        api_key="unused",
        max_retries=0,
        default_headers=budget_header,
    )

"""A live, paying node on loopback: tiny models, an in-process chain, a datanet of five facts,
and a client account with tokens in escrow."""

from __future__ import annotations

import httpx
import pytest
from money_helpers import TSR
from node_helpers import start_node

from tessera import PaidRequests
from tessera._crypto.voucher import Voucher


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
def budget(live) -> Voucher:
    """A voucher authorising 10 TSR: enough for every request of a module."""
    return live.t.sign_voucher(live.service.node_key.address, 10 * TSR, "client")


@pytest.fixture(scope="module")
def paid(live, budget) -> PaidRequests:
    """httpx auth that pays each request as "client": the budget and a signature of its body."""
    return PaidRequests(live.t.payer("client"), live.service.node_key.address, budget)


@pytest.fixture
def openai_client(live, paid):
    from openai import OpenAI

    with httpx.Client(auth=paid) as http:
        yield OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0, http_client=http)

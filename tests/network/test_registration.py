"""Registering a node: every bad input is one sentence and no transaction; the good path
bonds, lists, updates, leaves and withdraws after the delay. In-process chain, live nodes."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from backends import free_port
from money_helpers import TSR, advance_home_chain
from node_helpers import start_node

from tessera import InputError
from tessera._network.metadata import NodeMetadata

STAKE = 1_000 * TSR


@pytest.fixture(scope="module")
def live(tmp_path_factory, wide_generator, tiny_embedder):
    """A node signing as account `op`, served from the home that registers it."""
    node = start_node(tmp_path_factory.mktemp("reg"), wide_generator, tiny_embedder, account="op")
    node.t.transfer(3 * STAKE, "op")
    node.t.new_account("poor")
    node.t.new_account("other")
    node.t.transfer(STAKE, "other")
    yield node
    node.stop()


def nonce(t, account) -> int:
    return t.chain.w3.eth.get_transaction_count(t.address(account))


@contextmanager
def refused(t, account, says) -> Iterator[None]:
    """The call raises InputError with `says` in one sentence, and `account` sent nothing."""
    before = nonce(t, account)
    with pytest.raises(InputError) as caught:
        yield
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert nonce(t, account) == before
    assert not t.staking.node(t.address(account)).active


@contextmanager
def plain_http_server(body: bytes) -> Iterator[str]:
    """A real HTTP server that is not a Tessera node: 200 with `body` for /health only."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/health"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(body if found else b"not here")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_endpoint_is_refused_before_gas(live):
    with refused(live.t, "op", "does not answer /health like a Tessera node"):
        live.t.register_node(f"http://127.0.0.1:{free_port()}", STAKE, "op")


@pytest.mark.parametrize("health", [b"<html>hello</html>", b'{"status": "ok"}'])
def test_a_server_that_is_not_a_tessera_node_is_refused_before_gas(live, health):
    with plain_http_server(health) as url, refused(live.t, "op", "like a Tessera node"):
        live.t.register_node(url, STAKE, "op")


def test_a_stake_below_the_minimum_or_not_held_is_refused_before_gas(live):
    with refused(live.t, "op", "below the minimum of 1000 TSR"):
        live.t.register_node(live.url, STAKE - 1, "op")
    with refused(live.t, "poor", "holds 0 TSR, less than the 1000 to stake"):
        live.t.register_node(live.url, STAKE, "poor")


def test_a_node_signing_as_another_account_is_refused_before_gas(live):
    with refused(live.t, "other", f"signs as {live.t.address('op').lower()}, not as"):
        live.t.register_node(live.url, STAKE, "other")


def test_a_bad_endpoint_string_is_refused_before_gas(live):
    with refused(live.t, "op", "not a plain http(s) URL"):
        live.t.register_node("ftp://127.0.0.1/", STAKE, "op")


def test_register_update_leave_and_withdraw(live):
    t, op = live.t, live.t.address("op")
    held = t.settlement.token.balance_of(op)
    record = t.register_node(live.url + "/", STAKE, "op")
    assert (record.endpoint, record.stake, record.active, record.eligible) == (
        live.url,
        STAKE,
        True,
        True,
    )
    published = NodeMetadata.from_bytes(t.store.get(record.metadata_cid))
    assert published.node == op and published.endpoint == live.url
    assert [m.weights_digest for m in published.models] == [live.service.weights_digest]
    assert t.settlement.token.balance_of(op) == held - STAKE
    with refused_again(t):
        t.register_node(live.url, STAKE, "op")
    assert t.update_node(account="op").metadata_cid == record.metadata_cid  # nothing changed
    left = t.leave_network("op")
    assert not left.active and left.unbonding == STAKE
    with pytest.raises(InputError, match="unbonds until timestamp"):
        t.withdraw_stake("op")
    advance_home_chain(t, t.staking.unbonding_delay() + 1)
    assert t.withdraw_stake("op") == STAKE
    assert t.settlement.token.balance_of(op) == held
    with pytest.raises(InputError, match="has no stake unbonding"):
        t.withdraw_stake("op")
    with pytest.raises(InputError, match="is not a registered node"):
        t.update_node(account="op")


@contextmanager
def refused_again(t) -> Iterator[None]:
    before = nonce(t, "op")
    with pytest.raises(InputError, match="is already registered: change its listing"):
        yield
    assert nonce(t, "op") == before

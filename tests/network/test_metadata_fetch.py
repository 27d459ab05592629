"""Fetching a node's metadata from its gateway: only bytes that hash to the CID and describe
that node on this network are accepted; oversized, slow or mismatched answers are refused."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from test_metadata import NODE, STAKING, metadata

from tessera import InputError, StoreError
from tessera._network.metadata import MAX_BYTES
from tessera._network.peers import Expected, fetch_metadata, probe_health
from tessera._store.cid import cid_for

EXPECTED = Expected(NODE, 31337, STAKING)


@contextmanager
def gateway(body: bytes, delay: float = 0.0, status: int = 200) -> Iterator[str]:
    """A real HTTP server that answers every GET with `body` (after `delay` seconds)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, cid: str, expected: Expected = EXPECTED):
    with httpx.Client() as client:
        return fetch_metadata(client, url, cid, expected)


def test_the_document_that_hashes_to_its_cid_is_accepted():
    data = metadata().to_bytes()
    with gateway(data) as url:
        assert fetch(url, cid_for(data)) == metadata()


def test_bytes_that_do_not_hash_to_the_cid_are_refused():
    data = metadata().to_bytes()
    with gateway(data) as url, pytest.raises(StoreError, match="do not hash to its metadata"):
        fetch(url, cid_for(data + b" "))


def test_an_oversized_answer_is_cut_off_and_refused():
    big = b" " * (MAX_BYTES + 10)
    with gateway(big) as url, pytest.raises(StoreError, match="sent more than 65536 bytes"):
        fetch(url, cid_for(big))


def test_a_document_about_another_node_or_network_is_refused():
    data = metadata().to_bytes()
    with gateway(data) as url:
        with pytest.raises(InputError, match="names node .* another node or network"):
            fetch(url, cid_for(data), Expected("0x" + "99" * 20, 31337, STAKING))
        with pytest.raises(InputError, match="names chain_id 31337, not 1"):
            fetch(url, cid_for(data), Expected(NODE, 1, STAKING))


def test_a_missing_document_and_a_down_gateway_are_one_sentence():
    data = metadata().to_bytes()
    with gateway(b"no", status=404) as url, pytest.raises(StoreError, match="answered 404"):
        fetch(url, cid_for(data))
    with pytest.raises(StoreError, match="cannot fetch metadata"):
        fetch("http://127.0.0.1:9", cid_for(data))


def test_a_slow_health_probe_is_bounded():
    with gateway(b'{"node": "x"}', delay=3.0) as url, httpx.Client() as client:
        started = time.monotonic()
        health = probe_health(client, url, None)
        assert not health.ok and "ReadTimeout" in health.error
        assert time.monotonic() - started < 3.0

"""Fetching from real peers: verified blocks only, liars refused, down or slow peers skipped in
bounded time, a whole DAG or collection in one CAR, and an error that names every peer."""

import os
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
from store_peers import Gateway, down_peer, reply, serve_app, serve_script

from tessera._errors import StoreError
from tessera._store.car import car_header, car_section
from tessera._store.cid import Cid, decode_cid
from tessera._store.fetching import FetchingBlobStore
from tessera._store.layout import CHUNK_SIZE
from tessera._store.local import LocalBlobStore
from tessera._store.peers import PeerFetcher

BIG = os.urandom(2 * CHUNK_SIZE + 9)  # three leaves and a root


@dataclass
class Origin:
    store: LocalBlobStore
    gateway: Gateway
    url: str
    small: str
    big: str


@pytest.fixture
def origin(tmp_path):
    """A store holding a small and a big blob, served by an honest gateway."""
    store = LocalBlobStore(tmp_path / "origin")
    small, big = store.put(b"a small blob"), store.put(BIG)
    gateway = Gateway(store)
    with serve_app(gateway.app) as url:
        yield Origin(store, gateway, url, small, big)


def _fetching(tmp_path, peers, **options):
    fetcher = PeerFetcher(lambda: list(peers), **options)
    return FetchingBlobStore(LocalBlobStore(tmp_path / "mine"), fetcher)


def _stored(store: FetchingBlobStore) -> set[str]:
    return {p.name for p in store.local.root.rglob("*") if p.is_file()}


def _all_verify(store: FetchingBlobStore) -> bool:
    return all(decode_cid(name).matches(store.local.get_block(name)) for name in _stored(store))


def test_a_miss_fetches_a_raw_block_and_a_whole_dag_in_one_car(tmp_path, origin):
    gateway, url, small, big = origin.gateway, origin.url, origin.small, origin.big
    store = _fetching(tmp_path, [url])
    assert store.get(small) == b"a small blob"
    assert store.get(big) == BIG
    assert gateway.requests == [
        f"/ipfs/{small}?format=raw",
        f"/ipfs/{big}?format=car&dag-scope=all",
    ]
    assert store.fetched == 1 + 4 and store.has(big)
    assert store.get(big) == BIG and len(gateway.requests) == 2  # now served locally


def _lying_raw(handler):
    reply(handler, b"not what you asked for")


def _lying_car(handler):
    """A CAR whose header names the root asked for and whose block does not match it."""
    cid = decode_cid(urlparse(handler.path).path.rsplit("/", 1)[1])
    reply(handler, car_header([cid.to_bytes()]) + car_section(cid, b"forged"))


@pytest.mark.parametrize("liar", [_lying_raw, _lying_car])
def test_a_lying_peer_is_refused_and_the_next_one_tried(tmp_path, origin, liar):
    url, small, big = origin.url, origin.small, origin.big
    with serve_script(liar) as lying:
        store = _fetching(tmp_path, [lying, url])
        assert store.get(small) == b"a small blob" and store.get(big) == BIG
    assert _all_verify(store) and len(_stored(store)) == 5


def test_down_and_slow_peers_are_skipped_within_a_bounded_time(tmp_path, origin):
    url, big = origin.url, origin.big

    def silent(handler):
        time.sleep(5)  # never answers in time

    def trickle(handler):
        handler.send_response(200)
        handler.end_headers()
        for _ in range(50):  # a byte at a time: every read is quick, the whole is not
            handler.wfile.write(b"\x01")
            handler.wfile.flush()
            time.sleep(0.1)

    with down_peer() as down, serve_script(silent) as slow, serve_script(trickle) as dribble:
        store = _fetching(tmp_path, [down, slow, dribble, url], timeout_s=0.5, deadline_s=1.0)
        started = time.monotonic()
        assert store.get(big) == BIG
        elapsed = time.monotonic() - started
    assert elapsed < 4.0, f"took {elapsed:.1f} s to skip a down, a silent and a trickling peer"
    assert _all_verify(store)


def test_a_cid_no_peer_has_names_the_cid_and_every_peer(tmp_path, origin):
    url = origin.url
    absent = str(Cid.of(0x55, b"nobody has this"))
    with down_peer() as down:
        store = _fetching(tmp_path, [url, down], timeout_s=0.5)
        with pytest.raises(StoreError) as caught:
            store.get(absent)
    message = str(caught.value)
    assert absent in message and f"{url}: answered HTTP 404" in message and down in message
    assert _stored(store) == set()


def test_no_peers_at_all_is_a_sentence_that_says_what_to_do(tmp_path):
    store = _fetching(tmp_path, [])
    with pytest.raises(StoreError, match="no peers are known.*add an IPFS gateway"):
        store.get(str(Cid.of(0x55, b"x")))


def test_blocks_a_peer_adds_that_were_not_asked_for_are_never_stored(tmp_path, origin):
    source, big = origin.store, origin.big
    junk = b"junk the peer slipped in"

    def stuffing(handler):
        root = decode_cid(big)
        body = car_header([root.to_bytes()]) + car_section(Cid.of(0x55, junk), junk)
        body += b"".join(car_section(c, b) for c, b in source.dag_blocks(big))
        reply(handler, body)

    with serve_script(stuffing) as peer:
        store = _fetching(tmp_path, [peer])
        assert store.get(big) == BIG
    assert str(Cid.of(0x55, junk)) not in _stored(store) and len(_stored(store)) == 4


def test_what_an_incomplete_car_left_out_is_fetched_block_by_block(tmp_path, origin):
    source, big = origin.store, origin.big
    blocks = list(source.dag_blocks(big))

    def partial(handler):
        query = parse_qs(urlparse(handler.path).query)
        if query["format"] == ["raw"]:
            name = urlparse(handler.path).path.rsplit("/", 1)[1]
            return reply(handler, source.get_block(name))
        root = decode_cid(big)
        return reply(handler, car_header([root.to_bytes()]) + car_section(*blocks[0]))

    with serve_script(partial) as peer:
        store = _fetching(tmp_path, [peer])
        assert store.get(big) == BIG and store.fetched == 4


def test_a_collection_travels_as_one_car(tmp_path):
    source = LocalBlobStore(tmp_path / "origin")
    cids = [source.put(f"contribution {i}".encode()) for i in range(300)] + [source.put(BIG)]
    source.put_collection(cids)
    gateway = Gateway(source)
    with serve_app(gateway.app) as url:
        store = _fetching(tmp_path, [url])
        assert store.fetch_collection(cids) == 300 + 4
        assert len(gateway.requests) == 1 and "format=car" in gateway.requests[0]
        assert [store.get(c) for c in cids[:2]] == [b"contribution 0", b"contribution 1"]
        assert store.get(cids[-1]) == BIG and len(gateway.requests) == 1
        assert store.fetch_collection(cids) == 0


def test_a_peer_without_the_collection_node_is_asked_block_by_block(tmp_path):
    source = LocalBlobStore(tmp_path / "origin")
    cids = [source.put(f"contribution {i}".encode()) for i in range(20)] + [source.put(BIG)]
    gateway = Gateway(source)  # never put_collection: it cannot serve the collection's CAR
    with serve_app(gateway.app) as url:
        store = _fetching(tmp_path, [url])
        assert store.fetch_collection(cids) == 20 + 4
    assert gateway.requests[0].endswith("format=car&dag-scope=all")
    assert len(gateway.requests) == 1 + 20 + 1  # the refused CAR, each doc, BIG's own CAR
    assert all(store.has(c) for c in cids)

"""The /ipfs routes over HTTP, per the trustless gateway spec: blocks, CARs, headers, refusals."""

import os

import httpx
import pytest
from store_peers import Gateway, serve_app

from tessera._store.car import CarReader, car_header
from tessera._store.cid import cid_for, decode_cid
from tessera._store.layout import CHUNK_SIZE
from tessera._store.local import LocalBlobStore

BIG = os.urandom(CHUNK_SIZE + 1)
CAR_TYPE = "application/vnd.ipld.car; version=1; order=dfs; dups=n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    store = LocalBlobStore(tmp_path_factory.mktemp("gateway"))
    small, big = store.put(b"a block"), store.put(BIG)
    with serve_app(Gateway(store).app) as url, httpx.Client(base_url=url) as client:
        yield store, client, small, big


def test_a_raw_block_by_format_or_accept_with_the_spec_headers(served):
    _, client, small, _ = served
    for response in [
        client.get(f"/ipfs/{small}?format=raw"),
        client.get(f"/ipfs/{small}", headers={"Accept": "application/vnd.ipld.raw"}),
    ]:
        assert response.status_code == 200 and response.content == b"a block"
        assert response.headers["content-type"] == "application/vnd.ipld.raw"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["etag"] == f'"{small}.raw"'
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["content-disposition"] == f'attachment; filename="{small}.bin"'


def test_head_answers_the_headers_without_a_body(served):
    _, client, small, big = served
    response = client.head(f"/ipfs/{small}?format=raw")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(b"a block"))
    assert client.head(f"/ipfs/{big}?format=car").headers["content-type"] == CAR_TYPE
    assert client.head(f"/ipfs/{cid_for(b'absent')}?format=raw").status_code == 404


def test_a_car_holds_the_whole_dag_depth_first_and_block_scope_only_the_root(served):
    store, client, _, big = served
    response = client.get(f"/ipfs/{big}", headers={"Accept": "application/vnd.ipld.car"})
    assert response.status_code == 200 and response.headers["content-type"] == CAR_TYPE
    reader = CarReader([response.content], expected_root=decode_cid(big))
    assert list(reader.blocks()) == list(store.dag_blocks(big))
    block_scope = client.get(f"/ipfs/{big}?format=car&dag-scope=block")
    assert [str(c) for c, _ in CarReader([block_scope.content]).blocks()] == [big]
    assert block_scope.headers["etag"] != response.headers["etag"]


def test_an_etag_match_is_answered_304(served):
    _, client, small, _ = served
    etag = {"If-None-Match": f'"{small}.raw"'}
    response = client.get(f"/ipfs/{small}?format=raw", headers=etag)
    assert response.status_code == 304 and response.content == b""


def test_format_wins_over_accept(served):
    _, client, small, _ = served
    raw = {"Accept": "application/vnd.ipld.raw"}
    response = client.get(f"/ipfs/{small}?format=car", headers=raw)
    assert response.headers["content-type"] == CAR_TYPE


@pytest.mark.parametrize(
    "path, headers, status, says",
    [
        ("/ipfs/not-a-cid?format=raw", {}, 400, "not a CID"),
        ("/ipfs/bafkqaaa..?format=raw", {}, 400, "CID"),
        ("/ipfs/%2e%2e?format=raw", {}, 400, "not a CID"),
        (f"/ipfs/{cid_for(b'absent')}?format=raw", {}, 404, "not held by this node"),
        (f"/ipfs/{cid_for(b'absent')}?format=car", {}, 404, "not held by this node"),
        (f"/ipfs/{cid_for(b'a block')}", {}, 406, "send ?format=raw"),
        (f"/ipfs/{cid_for(b'a block')}", {"Accept": "text/html"}, 406, "send ?format=raw"),
        (f"/ipfs/{cid_for(b'a block')}?format=dag-json", {}, 406, "send ?format=raw"),
        (f"/ipfs/{cid_for(b'a block')}?format=car&car-dups=y", {}, 406, "dups=n"),
        (f"/ipfs/{cid_for(b'a block')}?format=car&car-version=2", {}, 406, "version=1"),
        (f"/ipfs/{cid_for(b'a block')}?format=car&dag-scope=most", {}, 400, "dag-scope"),
    ],
)
def test_refusals_are_one_plain_sentence(served, path, headers, status, says):
    _, client, _, _ = served
    response = client.get(path, headers=headers)
    assert response.status_code == status and says in response.text
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e", "../x", "a/b"])
def test_no_path_reaches_outside_the_store(served, path):
    _, client, _, _ = served
    response = client.get(f"/ipfs/{path}?format=raw")
    assert response.status_code in (400, 404) and b"root:" not in response.content


def test_the_probe_cid_answers_as_a_trustless_gateway(served):
    _, client, _, _ = served
    raw = client.get("/ipfs/bafkqaaa?format=raw")
    assert raw.status_code == 200 and raw.content == b""
    car = client.get("/ipfs/bafkqaaa?format=car")
    # a header whose one root is the identity CID 0x01 0x55 0x00 0x00, then no blocks
    assert car.status_code == 200 and car.content == car_header([bytes([1, 0x55, 0, 0])])
    assert car.headers["content-type"] == CAR_TYPE


def test_a_corrupted_block_is_a_500_and_a_missing_child_cuts_the_car_short(tmp_path):
    store = LocalBlobStore(tmp_path)
    small, big = store.put(b"will rot"), store.put(BIG)
    next(tmp_path.rglob(small)).write_bytes(b"rotten")
    leaf = next(c for c, _ in store.dag_blocks(big) if c.codec == 0x55)
    next(tmp_path.rglob(str(leaf))).unlink()
    with serve_app(Gateway(store).app) as url:
        assert httpx.get(f"{url}/ipfs/{small}?format=raw").status_code == 500
        response = httpx.get(f"{url}/ipfs/{big}?format=car")
    assert response.status_code == 200  # committed before the gap was found, as the spec says
    sent = [c for c, _ in CarReader([response.content]).blocks()]
    assert sent[0] == decode_cid(big) and leaf not in sent and len(sent) < 3

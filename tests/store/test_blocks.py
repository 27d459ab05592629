"""Blocks under LocalBlobStore: big blobs as UnixFS DAGs, walks, collections, refused blocks."""

import os

import pytest

from tessera._errors import StoreError
from tessera._store.base import collection_cid
from tessera._store.cid import DAG_PB, RAW, Cid, cid_for, decode_cid
from tessera._store.dagpb import PBLink, PBNode, decode_node, encode_node
from tessera._store.layout import CHUNK_SIZE
from tessera._store.local import LocalBlobStore
from tessera._store.unixfs import encode_file

BIG = os.urandom(3 * CHUNK_SIZE + 5)


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_big_blob_is_stored_as_a_dag_and_read_back_whole(tmp_path):
    store = LocalBlobStore(tmp_path)
    cid = store.put(BIG)
    assert decode_cid(cid).codec == DAG_PB and cid.startswith("bafybei")
    assert len(_files(tmp_path)) == 4 + 1  # four raw leaves and their file node
    assert store.get(cid) == BIG and store.has(cid)
    assert store.put(BIG) == cid and len(_files(tmp_path)) == 5


def test_a_small_blob_stays_one_raw_block(tmp_path):
    store = LocalBlobStore(tmp_path)
    assert store.put(b"x" * CHUNK_SIZE) == cid_for(b"x" * CHUNK_SIZE)
    assert store.get_block(cid_for(b"x" * CHUNK_SIZE)) == b"x" * CHUNK_SIZE


def test_the_chunk_size_is_a_parameter(tmp_path):
    store = LocalBlobStore(tmp_path, chunk_size=1000)
    cid = store.put(b"y" * 2500)
    assert decode_cid(cid).codec == DAG_PB and store.get(cid) == b"y" * 2500


def test_a_missing_or_corrupted_leaf_fails_the_read_and_has_says_so(tmp_path):
    store = LocalBlobStore(tmp_path)
    cid = store.put(BIG)
    leaf = next(p for p in _files(tmp_path) if p.name.startswith("bafkrei"))
    leaf.write_bytes(b"tampered")
    with pytest.raises(StoreError, match="corrupted"):
        store.get(cid)
    leaf.unlink()
    assert not store.has(cid)
    with pytest.raises(StoreError, match="not in the local store"):
        store.get(cid)


def test_dag_blocks_walks_depth_first_in_link_order_once_each(tmp_path):
    store = LocalBlobStore(tmp_path, chunk_size=4)
    cid = store.put(b"aaaabbbbaaaa")  # the first and third chunks are one block
    walked = list(store.dag_blocks(cid))
    assert [str(c) for c, _ in walked] == [cid, cid_for(b"aaaa"), cid_for(b"bbbb")]
    assert all(c.matches(b) for c, b in walked)
    assert store.get(cid) == b"aaaabbbbaaaa"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"wrong", "does not match its CID"),
        (b"\x0a" * (1 << 20 | 1), "over the 1 MiB"),
    ],
)
def test_put_block_refuses_what_does_not_match_and_stores_nothing(tmp_path, data, message):
    store = LocalBlobStore(tmp_path)
    cid = str(Cid.of(RAW, b"right")) if data == b"wrong" else str(Cid.of(RAW, data))
    with pytest.raises(StoreError, match=message):
        store.put_block(cid, data)
    assert _files(tmp_path) == []


def test_put_block_refuses_a_malformed_dag_pb_block_even_if_it_hashes_right(tmp_path):
    store = LocalBlobStore(tmp_path)
    bad = b"\x1a\x00"
    with pytest.raises(StoreError, match="unknown field"):
        store.put_block(str(Cid.of(DAG_PB, bad)), bad)
    assert _files(tmp_path) == []


def test_a_root_that_lies_about_its_size_is_refused(tmp_path):
    store = LocalBlobStore(tmp_path)
    leaf = Cid.of(RAW, b"abc")
    store.put_block(str(leaf), b"abc")
    for declared, message in [(2, "more than the 2 bytes"), (9, "holds 3 bytes")]:
        node = encode_node(PBNode((PBLink(leaf, "", 3),), encode_file(declared, [3])))
        store.put_block(str(Cid.of(DAG_PB, node)), node)
        with pytest.raises(StoreError, match=message):
            store.get(str(Cid.of(DAG_PB, node)))


def test_a_dag_that_repeats_one_link_cannot_blow_up_a_read(tmp_path):
    store = LocalBlobStore(tmp_path)
    empty = Cid.of(RAW, b"")
    store.put_block(str(empty), b"")
    child = empty
    for _ in range(6):  # 174**6 visits if walked naively
        links = tuple(PBLink(child, "", 0) for _ in range(174))
        node = encode_node(PBNode(links, encode_file(0, [])))
        child = Cid.of(DAG_PB, node)
        store.put_block(str(child), node)
    with pytest.raises(StoreError, match="far more blocks"):
        store.get(str(child))


def test_a_collection_is_stored_under_the_cid_anyone_computes(tmp_path):
    store = LocalBlobStore(tmp_path)
    cids = [store.put(f"doc {i}".encode()) for i in range(400)] + [store.put(BIG)]
    root = store.put_collection(cids)
    assert root == collection_cid(cids) and root != collection_cid(cids[1:])
    walked = [str(c) for c, _ in store.dag_blocks(root)]
    leaves = [c for c in walked if c in set(cids)]
    assert leaves == cids  # in the order given
    assert len(walked) == 1 + 3 + 400 + 5  # root, 3 nodes of <=174, the docs, BIG's 5 blocks
    with pytest.raises(StoreError, match="not a file"):
        store.get(root)
    assert len(decode_node(store.get_block(root)).links) == 3

"""dag-pb nodes and UnixFS Data: round trips, the bytes kubo writes, and strict decoding."""

import pytest

from tessera._errors import StoreError
from tessera._store.cid import DAG_PB, RAW, Cid
from tessera._store.dagpb import PBLink, PBNode, decode_node, encode_node
from tessera._store.layout import CHUNK_SIZE, collection_blocks, file_blocks
from tessera._store.unixfs import FILE_TYPE, decode_file, encode_file

LEAF = Cid.of(RAW, b"leaf")


def test_a_node_round_trips_and_puts_links_before_data():
    node = PBNode(links=(PBLink(LEAF, "", 4), PBLink(LEAF)), data=b"\x08\x02")
    encoded = encode_node(node)
    assert encoded[0] == 0x12  # field 2 (Links) first, as the spec orders them
    assert encoded.endswith(b"\x0a\x02\x08\x02")  # field 1 (Data) last
    assert decode_node(encoded) == node
    assert decode_node(b"") == PBNode()


def test_unixfs_file_data_round_trips():
    data = encode_file(10, [4, 6])
    assert data == bytes([0x08, 0x02, 0x18, 0x0A, 0x20, 0x04, 0x20, 0x06])
    parsed = decode_file(data)
    assert (parsed.type, parsed.filesize, parsed.blocksizes, parsed.data) == (
        FILE_TYPE,
        10,
        (4, 6),
        b"",
    )
    # packed blocksizes (another writer's choice) read the same
    assert decode_file(bytes([0x08, 0x02, 0x18, 0x0A, 0x22, 0x02, 0x04, 0x06])).blocksizes == (4, 6)


@pytest.mark.parametrize(
    "block, message",
    [
        (b"\x0a\x00\x12\x22" + b"\x0a\x20" + b"\0" * 32, "after its Data"),
        (b"\x1a\x00", "unknown field 3"),
        (b"\x12\x02\x18\x01", "no Hash"),
        (b"\x12\x28" + b"\x0a\x24" + LEAF.to_bytes() + b"\x0a\x00", "out of order"),
        (b"\x12\x05\x0a\x03\x01\x71\x12", "CID we do not accept"),
        (b"\x0a\x05ab", "truncated"),
        (b"\x0a\x80\x00", "not minimally encoded"),
        (b"\x0d\x00\x00\x00\x00", "wire type 5"),
        (b"\x0a" + b"\xff" * 12, "longer than"),
        (b"\x0a\x01\x00" * 400_000, "over the 1 MiB"),
    ],
)
def test_malformed_nodes_are_refused(block, message):
    with pytest.raises(StoreError, match=message):
        decode_node(block)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x08\x01", "type 1 is not a file"),  # a directory
        (b"\x48\x01", "unknown field 9"),
        (b"", "type None"),
    ],
)
def test_unixfs_data_that_is_not_a_file_is_refused(data, message):
    with pytest.raises(StoreError, match=message):
        decode_file(data)


def test_one_chunk_stays_one_raw_block_and_more_become_a_balanced_dag():
    assert file_blocks(b"x" * CHUNK_SIZE) == [(Cid.of(RAW, b"x" * CHUNK_SIZE), b"x" * CHUNK_SIZE)]
    blocks = file_blocks(bytes(range(10)), chunk_size=3, max_links=2)
    # 4 leaves (3+3+3+1 bytes) -> 2 nodes of 2 -> 1 root
    assert [c.codec for c, _ in blocks] == [RAW] * 4 + [DAG_PB] * 3
    root = decode_node(blocks[-1][1])
    assert decode_file(root.data or b"").blocksizes == (6, 4)
    assert [link.tsize for link in root.links] == [6 + len(blocks[4][1]), 4 + len(blocks[5][1])]


def test_a_collection_is_the_same_for_anyone_with_the_list_and_keeps_nodes_small():
    cids = [Cid.of(RAW, str(i).encode()) for i in range(10_000)]
    blocks = collection_blocks(cids)
    assert blocks[-1][0] == collection_blocks(list(cids))[-1][0]
    assert collection_blocks(cids[::-1])[-1][0] != blocks[-1][0]
    assert max(len(b) for _, b in blocks) < 10_000  # 174 links of 38 bytes
    assert len(blocks) == 58 + 1  # ceil(10,000 / 174) nodes under one root
    under = [link.hash for _, b in blocks[:-1] for link in decode_node(b).links]
    assert under == cids
    assert collection_blocks([])[-1][0] == Cid.of(DAG_PB, b"")

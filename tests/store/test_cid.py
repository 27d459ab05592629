import hashlib

import pytest

from tessera._errors import InputError
from tessera._store.cid import (
    DAG_PB,
    RAW,
    Cid,
    cid_for,
    cid_from_bytes,
    cid_from_digest,
    decode_cid,
    digest_from_cid,
)


def test_cid_matches_what_ipfs_gives_for_raw_leaves():
    # `ipfs add --cid-version 1 --raw-leaves` of the 5 bytes "hello" gives this CID
    assert cid_for(b"hello") == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


def test_digest_round_trips_through_the_cid():
    digest = hashlib.sha256(b"tessera").digest()
    assert digest_from_cid(cid_from_digest(digest)) == digest


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "Qm123",
        "bafy",
        "b!!!!",
        cid_for(b"x")[:-3],
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    ],
)
def test_malformed_cids_are_rejected_with_a_hint(bad):
    with pytest.raises(InputError, match="CID|base32"):
        digest_from_cid(bad)


def test_digest_of_wrong_length_is_rejected():
    with pytest.raises(InputError, match="32 bytes"):
        cid_from_digest(b"short")


# `ipfs object new` (the empty dag-pb node): its well-known CIDv0 and the CIDv1 of the same bytes
EMPTY_NODE_V0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
EMPTY_NODE_V1 = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_dag_pb_cids_parse_and_name_the_same_block_in_v0_and_v1():
    v0, v1 = decode_cid(EMPTY_NODE_V0), decode_cid(EMPTY_NODE_V1)
    assert (v0.version, v0.codec, v1.version, v1.codec) == (0, DAG_PB, 1, DAG_PB)
    assert v0.v1() == v1 and str(v0) == EMPTY_NODE_V0 and str(v1) == EMPTY_NODE_V1
    assert v1 == Cid.of(DAG_PB, b"") and v1.matches(b"") and not v1.matches(b"x")


def test_raw_cid_text_and_binary_round_trip():
    cid = decode_cid(cid_for(b"hello"))
    assert (cid.version, cid.codec) == (1, RAW)
    assert cid.digest == hashlib.sha256(b"hello").digest()
    raw = cid.to_bytes()
    assert raw[:4] == bytes([0x01, 0x55, 0x12, 0x20])
    assert cid_from_bytes(raw + b"tail", 0) == (cid, 36)
    v0 = decode_cid(EMPTY_NODE_V0)
    assert cid_from_bytes(v0.to_bytes(), 0) == (v0, 34)


def test_digest_from_cid_still_takes_raw_cids_only():
    with pytest.raises(InputError, match="not a raw sha256 CIDv1"):
        digest_from_cid(EMPTY_NODE_V1)


@pytest.mark.parametrize(
    "bad",
    [
        EMPTY_NODE_V1.upper(),  # base32 upper has its own multibase prefix, "B"
        "B" + EMPTY_NODE_V1[1:].upper(),
        EMPTY_NODE_V1 + "a",  # trailing bits
        "b" + "a" * 200,  # far too long to be a sha256 CID
        # CIDv1 dag-cbor (0x71) and a blake2b multihash: real CIDs, but not ones we store
        "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua",
        "bafk2bzacecmh6tnyxnjzlqzfm3lhtbt6wbbhezytfdpqjk3wy6v5g6bxd2xnk",
        "bafkqaaa",  # the identity CID: no hash to check
        "Qm" + "1" * 44,
        "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1O",  # O is not base58
        "../../etc/passwd",
        "b../../x",
    ],
)
def test_hostile_cids_are_refused_with_a_hint(bad):
    with pytest.raises(InputError, match="CID|base32|base58"):
        decode_cid(bad)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x01\x55\x12", b"\x01\x71\x12\x20" + b"\0" * 32, b"\x01\x55\x13\x20" + b"\0" * 32],
)
def test_hostile_binary_cids_are_refused(raw):
    with pytest.raises(InputError, match="CID"):
        cid_from_bytes(raw, 0)

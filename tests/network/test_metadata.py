"""Node metadata: canonical bytes addressed by CID, and strict parsing of what peers send."""

from __future__ import annotations

import json

import pytest

from tessera import InputError
from tessera._network.metadata import MAX_BYTES, ModelVersion, NodeMetadata
from tessera._store.cid import cid_for

NODE = "0x" + "ab" * 20
STAKING = "0x" + "cd" * 20
DIGEST = "0x" + "12" * 32


def metadata(**changes) -> NodeMetadata:
    fields = dict(
        chain_id=31337,
        staking=STAKING,
        node=NODE,
        endpoint="http://127.0.0.1:8000",
        models=(ModelVersion("tiny", DIGEST),),
        input_price=3,
        output_price=7,
        default_max_tokens=48,
    )
    return NodeMetadata(**{**fields, **changes})


def document(**changes) -> dict:
    body = json.loads(metadata().to_bytes())
    body.update(changes)
    return body


def encode(body) -> bytes:
    return json.dumps(body).encode()


def test_round_trip_is_canonical_and_addressed_by_its_cid():
    m = metadata()
    data = m.to_bytes()
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    assert m.cid == cid_for(data) and m.cid.startswith("bafkrei")
    assert NodeMetadata.from_bytes(data) == m
    # one spelling of an address: the lowercase and checksummed forms give one CID
    assert metadata(node=NODE.upper().replace("0X", "0x")).cid == m.cid
    assert metadata(output_price=8).cid != m.cid


def test_a_spaced_or_reordered_document_parses_to_the_same_metadata():
    assert NodeMetadata.from_bytes(json.dumps(document(), indent=2).encode()) == metadata()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"x" * (MAX_BYTES + 1), "over the 65536 allowed"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[" * 60000, "not UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"version": 1, "version": 1}', "repeats a key"),
        (b'{"chain_id": NaN}', "not JSON"),
    ],
)
def test_hostile_bytes_are_refused_with_one_sentence(body, says):
    with pytest.raises(InputError, match=says):
        NodeMetadata.from_bytes(body)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"extra": 1}, "unexpected \\['extra'\\]"),
        ({"prices": {"input_token": 1}}, "missing \\['output_token'\\]"),
        ({"prices": {"input_token": -1, "output_token": 1}}, "input_token price must be"),
        ({"prices": {"input_token": 2**96, "output_token": 1}}, "input_token price must be"),
        ({"prices": {"input_token": True, "output_token": 1}}, "input_token price must be"),
        ({"prices": {"input_token": "1", "output_token": 1}}, "input_token price must be"),
        ({"chain_id": 1.5}, "chain_id must be an integer"),
        ({"node": "0x1234"}, "node must be a 0x-prefixed 20-byte address"),
        ({"endpoint": "file:///etc/passwd"}, "not a plain http\\(s\\) URL"),
        ({"endpoint": "http://user:pw@host:1"}, "not a plain http\\(s\\) URL"),
        ({"endpoint": "http://host:99999"}, "not a valid URL"),
        ({"endpoint": 7}, "endpoint must be a URL"),
        ({"models": [{"id": "m", "weights_digest": DIGEST}] * 33}, "at most 32"),
        ({"models": [{"id": "m", "weights_digest": "0x12"}]}, "weights digest of model 'm'"),
        ({"models": [{"id": "", "weights_digest": DIGEST}]}, "model id"),
        ({"models": [{"id": "m"}]}, "missing \\['weights_digest'\\]"),
        ({"models": "all"}, "list of at most 32"),
        ({"version": 2}, "version 2 is not understood"),
        ({"default_max_tokens": 0}, "default_max_tokens must be at least 1"),
    ],
)
def test_each_malformed_field_is_named(changes, says):
    with pytest.raises(InputError, match=says):
        NodeMetadata.from_bytes(encode(document(**changes)))


def test_bad_metadata_cannot_be_built_either():
    with pytest.raises(InputError, match="not a plain http"):
        metadata(endpoint="ftp://x").to_bytes()
    with pytest.raises(InputError, match="address"):
        metadata(staking="nope")

"""CARv1: what we write we read back; hostile CARs are refused with a clear StoreError."""

import random

import pytest

from tessera._errors import StoreError
from tessera._store.car import MAX_SECTION, CarReader, car_header, car_section, write_car
from tessera._store.cid import RAW, Cid
from tessera._store.layout import file_blocks
from tessera._store.protobuf import varint

BLOCKS = file_blocks(random.Random(13).randbytes(600_000))  # three leaves and a root; fixed, so
# every xdist worker collects the same parametrized ids
ROOT = BLOCKS[-1][0]


def _car(roots=(ROOT,), blocks=BLOCKS) -> bytes:
    return b"".join(write_car(list(roots), blocks))


def _chunks(data: bytes, size: int):
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk", [1, 7, 65_536, 10**7])
def test_a_car_round_trips_however_it_is_chunked(chunk):
    data = _car()
    reader = CarReader(_chunks(data, chunk), expected_root=ROOT)
    assert reader.roots == [ROOT]
    assert list(reader.blocks()) == BLOCKS


def test_the_header_is_canonical_dag_cbor():
    header = car_header([ROOT.to_bytes()])
    length, body = header[0], header[1:]
    assert length == len(body)
    # {"roots": [42(h'00' + cid)], "version": 1}, keys in dag-cbor's length-first order
    assert body.startswith(b"\xa2\x65roots\x81\xd8\x2a\x58\x25\x00" + ROOT.to_bytes())
    assert body.endswith(b"\x67version\x01")


def test_a_car_with_no_blocks_is_just_its_header():
    assert list(CarReader([car_header([ROOT.to_bytes()])]).blocks()) == []


def _framed(body: bytes) -> bytes:
    return varint(len(body)) + body


def _lying_section() -> bytes:
    cid, block = BLOCKS[0]
    return car_section(cid, block[:-1] + bytes([block[-1] ^ 1]))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "CAR stream is empty"),
        (car_header([ROOT.to_bytes()])[:10], "CAR header is truncated"),
        (_car()[:-1], "CAR section is truncated"),
        (car_header([ROOT.to_bytes()]) + b"\x85", "truncated inside a varint"),
        (car_header([ROOT.to_bytes()]) + _lying_section(), "does not hash to its CID"),
        (car_header([ROOT.to_bytes()]) + varint(MAX_SECTION + 1), "outside 1.."),
        (car_header([ROOT.to_bytes()]) + b"\x00", "outside 1.."),
        (varint(1 << 20) + b"\xa2", "CAR header of"),
        (_framed(b"\xa2\x65roots\x80\x67version\x02"), "version 2 is not 1"),
        (_framed(b"\xa1\x67version\x01"), "exactly .roots, version."),
        (_framed(b"\xa2\x65roots\x81\x41\x00\x67version\x01"), "not a list of CIDs"),
        (_framed(b"\xa1\x81\x00\x00"), "key that is not text"),
        (car_header([b"\x01\x71\x12\x20" + bytes(32)]), "CID we do not accept"),
        (car_header([ROOT.to_bytes()]) + car_section(Cid(1, 0x71, bytes(32)), b"")[:40], "CID"),
    ],
)
def test_hostile_cars_are_refused(data, message):
    with pytest.raises(StoreError, match=message):
        reader = CarReader([data])
        list(reader.blocks())


def test_a_car_for_another_root_is_refused():
    other = Cid.of(RAW, b"other")
    with pytest.raises(StoreError, match="do not include"):
        CarReader([_car(roots=(other,))], expected_root=ROOT)


def test_the_blocks_before_a_bad_one_are_yielded_and_the_bad_one_stops_the_read():
    data = car_header([ROOT.to_bytes()]) + car_section(*BLOCKS[1]) + _lying_section()
    reader = CarReader([data]).blocks()
    assert next(reader) == BLOCKS[1]
    with pytest.raises(StoreError, match="lying"):
        next(reader)

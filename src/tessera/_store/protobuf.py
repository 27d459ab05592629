"""The few pieces of the protobuf wire format that dag-pb and UnixFS need: varints and fields.

Only two wire types occur in them (0: varint, 2: length-delimited); any other is refused, and so
is a varint that is not minimal, so one message has exactly one encoding and one CID.
"""

from __future__ import annotations

from collections.abc import Iterator

from tessera._errors import StoreError

VARINT = 0
BYTES = 2
_MAX_VARINT_BYTES = 9  # 63 bits: every size and count in these formats fits


def varint(value: int) -> bytes:
    """The unsigned LEB128 encoding of `value`."""
    if value < 0:
        raise ValueError("a varint is unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(buf: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    """The varint at `buf[pos:]` and the position after it; StoreError if truncated or padded."""
    value = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise StoreError(f"{what} is truncated inside a varint: the data is incomplete")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise StoreError(f"{what} has a varint that is not minimally encoded")
            return value, pos + i + 1
    raise StoreError(f"{what} has a varint longer than {_MAX_VARINT_BYTES} bytes")


def field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(number << 3 | BYTES) + varint(len(payload)) + payload


def field_varint(number: int, value: int) -> bytes:
    """A varint field."""
    return varint(number << 3 | VARINT) + varint(value)


def fields(buf: bytes | memoryview, what: str) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field of a message, in the order written."""
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        key, pos = read_varint(view, pos, what)
        number, wire = key >> 3, key & 0x07
        if wire == VARINT:
            value, pos = read_varint(view, pos, what)
            yield number, wire, value
        elif wire == BYTES:
            length, pos = read_varint(view, pos, what)
            if pos + length > len(view):
                raise StoreError(f"{what} is truncated inside field {number}")
            yield number, wire, view[pos : pos + length]
            pos += length
        else:
            raise StoreError(f"{what} has field {number} of wire type {wire}, which it never uses")

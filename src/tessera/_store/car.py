"""CARv1: a varint-framed dag-cbor header {roots, version: 1}, then varint-framed (CID, block).

The writer streams; the reader takes chunks as they arrive (an HTTP body) and is safe on hostile
input: the header and every section are bounded before they are read, each block is checked
against its CID before it is yielded, and a stream that stops mid-way is a StoreError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tessera._errors import InputError, StoreError
from tessera._store.cid import Cid, cid_from_bytes
from tessera._store.dagpb import MAX_BLOCK
from tessera._store.protobuf import read_varint, varint

MAX_HEADER = 64 * 1024
MAX_SECTION = MAX_BLOCK + 128  # a block plus its CID, with room to spare
_TAG_CID = b"\xd8\x2a"  # CBOR tag 42: an IPLD link


def car_header(roots: list[bytes]) -> bytes:
    """The framed header naming `roots` (binary CIDs) in dag-cbor (keys in canonical order)."""
    body = b"\xa2" + _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        body += _TAG_CID + _cbor_head(2, len(root) + 1) + b"\x00" + root  # 0x00: identity base
    body += _cbor_head(3, 7) + b"version" + b"\x01"
    return varint(len(body)) + body


def car_section(cid: Cid, block: bytes) -> bytes:
    raw = cid.to_bytes()
    return varint(len(raw) + len(block)) + raw + block


def write_car(roots: list[Cid], blocks: Iterable[tuple[Cid, bytes]]) -> Iterator[bytes]:
    """A CARv1 as a stream of byte strings: the header, then one per block."""
    yield car_header([r.to_bytes() for r in roots])
    for cid, block in blocks:
        yield car_section(cid, block)


class CarReader:
    """Reads a CARv1 from chunks of bytes; `roots` is read on construction, then `blocks()`."""

    def __init__(self, chunks: Iterable[bytes], expected_root: Cid | None = None) -> None:
        self._stream = _Stream(iter(chunks))
        length = self._stream.varint("CAR header length", eof_ok=False)
        if length is None or not 0 < length <= MAX_HEADER:
            raise StoreError(f"CAR header of {length} bytes is outside 1..{MAX_HEADER}")
        self.roots = _parse_header(self._stream.read(length, "CAR header"))
        if expected_root is not None and expected_root.v1() not in [r.v1() for r in self.roots]:
            named = ", ".join(str(r) for r in self.roots) or "none"
            raise StoreError(f"CAR roots ({named}) do not include {expected_root}: a wrong answer")

    def blocks(self) -> Iterator[tuple[Cid, bytes]]:
        """Each (CID, block) in the order sent, verified; StoreError on the first bad one."""
        while True:
            length = self._stream.varint("CAR section length", eof_ok=True)
            if length is None:
                return
            if not 0 < length <= MAX_SECTION:
                raise StoreError(f"CAR section of {length} bytes is outside 1..{MAX_SECTION}")
            section = self._stream.read(length, "CAR section")
            try:
                cid, start = cid_from_bytes(section, 0)
            except InputError as exc:
                raise StoreError(f"CAR section has a CID we do not accept: {exc}") from None
            block = section[start:]
            if not cid.matches(block):
                raise StoreError(f"CAR block {cid} does not hash to its CID: the sender is lying")
            yield cid, block


class _Stream:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = bytearray()

    def _fill(self, n: int) -> bool:
        while len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._buf += chunk
        return True

    def read(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise StoreError(f"{what} is truncated: the CAR stream ended early")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def varint(self, what: str, eof_ok: bool) -> int | None:
        self._fill(10)
        if not self._buf:
            if eof_ok:
                return None
            raise StoreError(f"{what} is missing: the CAR stream is empty")
        value, end = read_varint(bytes(self._buf[:10]), 0, what)
        del self._buf[:end]
        return value


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    if value < 256:
        return bytes([major << 5 | 24, value])
    return bytes([major << 5 | 25]) + value.to_bytes(2, "big")


def _parse_header(body: bytes) -> list[Cid]:
    value, end = _cbor_item(body, 0, depth=0)
    if end != len(body):
        raise StoreError("CAR header has bytes after its dag-cbor map")
    if not isinstance(value, dict) or set(value) != {"roots", "version"}:
        raise StoreError("CAR header is not a map of exactly {roots, version}")
    if value["version"] != 1:
        raise StoreError(f"CAR version {value['version']!r} is not 1: only CARv1 is read")
    roots = value["roots"]
    if not isinstance(roots, list) or not all(isinstance(r, Cid) for r in roots):
        raise StoreError("CAR header roots is not a list of CIDs")
    return roots


def _cbor_item(buf: bytes, pos: int, depth: int) -> tuple[object, int]:
    """The small dag-cbor subset a CAR header uses: uint, bytes, text, array, map, CID tag."""
    if pos >= len(buf) or depth > 4:
        raise StoreError("CAR header is truncated or nested too deeply")
    major, info = buf[pos] >> 5, buf[pos] & 0x1F
    value, pos = _cbor_argument(buf, pos, info)
    if major == 0:
        return value, pos
    if major in (2, 3):
        raw = buf[pos : pos + value]
        if len(raw) != value:
            raise StoreError("CAR header is truncated inside a string")
        return (raw if major == 2 else raw.decode("utf-8", "replace")), pos + value
    if major == 4:
        items = []
        for _ in range(value):
            item, pos = _cbor_item(buf, pos, depth + 1)
            items.append(item)
        return items, pos
    if major == 5:
        out: dict[object, object] = {}
        for _ in range(value):
            key, pos = _cbor_item(buf, pos, depth + 1)
            if not isinstance(key, str):
                raise StoreError("CAR header has a map key that is not text")
            out[key], pos = _cbor_item(buf, pos, depth + 1)
        return out, pos
    if major == 6 and value == 42:
        tagged, pos = _cbor_item(buf, pos, depth + 1)
        return _header_cid(tagged), pos
    raise StoreError(f"CAR header holds a CBOR item (major type {major}) a header never has")


def _cbor_argument(buf: bytes, pos: int, info: int) -> tuple[int, int]:
    if info < 24:
        return info, pos + 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None or pos + 1 + width > len(buf):
        raise StoreError("CAR header has a malformed CBOR length")
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "big"), pos + 1 + width


def _header_cid(raw: object) -> Cid:
    if not isinstance(raw, bytes) or not raw.startswith(b"\x00"):
        raise StoreError("CAR header root is not a binary CID")
    try:
        cid, end = cid_from_bytes(raw, 1)
    except InputError as exc:
        raise StoreError(f"CAR header root is a CID we do not accept: {exc}") from None
    if end != len(raw):
        raise StoreError("CAR header root has bytes after its CID")
    return cid

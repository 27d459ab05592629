"""dag-pb (codec 0x70): the PBNode / PBLink protobuf that UnixFS files and collections are made of.

Decoding is as strict as the IPLD dag-pb spec asks: fields in canonical order (a node's Links
before its Data; a link's Hash, Name, Tsize), none repeated but Links, no unknown field, every
link with a Hash. One node has one encoding, so re-encoding what we decoded gives its CID back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera._errors import InputError, StoreError
from tessera._store.cid import Cid, cid_from_bytes
from tessera._store.protobuf import BYTES, VARINT, field_bytes, field_varint, fields

MAX_BLOCK = 1 << 20  # 1 MiB: the largest block bitswap moves, and the largest we accept


@dataclass(frozen=True)
class PBLink:
    hash: Cid
    name: str | None = None
    tsize: int | None = None


@dataclass(frozen=True)
class PBNode:
    links: tuple[PBLink, ...] = field(default_factory=tuple)
    data: bytes | None = None


def encode_node(node: PBNode) -> bytes:
    """The canonical bytes of `node` (links first, as the spec orders them)."""
    out = bytearray()
    for link in node.links:
        out += field_bytes(2, _encode_link(link))
    if node.data is not None:
        out += field_bytes(1, node.data)
    return bytes(out)


def decode_node(block: bytes | memoryview) -> PBNode:
    """Parse a dag-pb block; StoreError if it is malformed, non-canonical or over 1 MiB."""
    if len(block) > MAX_BLOCK:
        raise StoreError(f"a dag-pb block of {len(block)} bytes is over the 1 MiB block limit")
    links: list[PBLink] = []
    data: bytes | None = None
    for number, wire, value in fields(block, "dag-pb node"):
        if data is not None:
            raise StoreError("dag-pb node has a field after its Data, which must come last")
        if number == 2 and wire == BYTES:
            assert isinstance(value, memoryview)
            links.append(_decode_link(value))
        elif number == 1 and wire == BYTES:
            assert isinstance(value, memoryview)
            data = bytes(value)
        else:
            raise StoreError(f"dag-pb node has an unknown field {number} (wire type {wire})")
    return PBNode(tuple(links), data)


def _encode_link(link: PBLink) -> bytes:
    out = field_bytes(1, link.hash.to_bytes())
    if link.name is not None:
        out += field_bytes(2, link.name.encode())
    if link.tsize is not None:
        out += field_varint(3, link.tsize)
    return out


def _decode_link(buf: memoryview) -> PBLink:
    seen: list[int] = []
    hash_: Cid | None = None
    name: str | None = None
    tsize: int | None = None
    for number, wire, value in fields(buf, "dag-pb link"):
        if seen and number <= seen[-1]:
            raise StoreError("dag-pb link has its fields out of order or repeated")
        seen.append(number)
        if number == 1 and wire == BYTES and isinstance(value, memoryview):
            hash_ = _link_cid(value)
        elif number == 2 and wire == BYTES and isinstance(value, memoryview):
            name = _link_name(value)
        elif number == 3 and wire == VARINT and isinstance(value, int):
            tsize = value
        else:
            raise StoreError(f"dag-pb link has an unknown field {number} (wire type {wire})")
    if hash_ is None:
        raise StoreError("dag-pb link has no Hash: every link must name the block it points to")
    return PBLink(hash_, name, tsize)


def _link_cid(value: memoryview) -> Cid:
    try:
        cid, end = cid_from_bytes(value, 0)
    except InputError as exc:
        raise StoreError(f"dag-pb link holds a CID we do not accept: {exc}") from None
    if end != len(value):
        raise StoreError("dag-pb link has bytes after its CID")
    return cid


def _link_name(value: memoryview) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError("dag-pb link has a Name that is not UTF-8") from None

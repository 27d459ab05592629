"""CIDs with a sha256 multihash: raw blocks ("bafkrei...") and dag-pb nodes ("bafybei...").

They are the ids an IPFS node gives the same bytes. Only sha256 is accepted, as text in base32
(CIDv1) or base58btc (CIDv0, always dag-pb), and as the binary form CARs and dag-pb links carry.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache

from tessera._errors import InputError

RAW = 0x55
DAG_PB = 0x70
_CID_V1 = 0x01
_SHA2_256 = 0x12
_DIGEST_LEN = 32
_MULTIHASH_PREFIX = bytes([_SHA2_256, _DIGEST_LEN])
_MAX_TEXT = 100  # a sha256 CIDv1 in base32 has 59 characters; anything far longer is not one
_HINT = "expected a CIDv1 such as bafkrei... or bafybei... as printed by `tessera contribute`"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class Cid:
    """A parsed CID: version 1 (raw or dag-pb) or 0 (dag-pb), over a sha256 digest."""

    version: int
    codec: int
    digest: bytes

    def __str__(self) -> str:
        return self.text

    @cached_property
    def text(self) -> str:
        """The CID's canonical text (computed once: stores name files by it)."""
        if self.version == 0:
            return _base58_encode(_MULTIHASH_PREFIX + self.digest)
        body = base64.b32encode(self.to_bytes()).decode().lower().rstrip("=")
        return "b" + body  # multibase prefix for base32 lower

    def to_bytes(self) -> bytes:
        """The binary CID, as a CAR section or a dag-pb link holds it."""
        if self.version == 0:
            return _MULTIHASH_PREFIX + self.digest
        return bytes([_CID_V1, self.codec]) + _MULTIHASH_PREFIX + self.digest

    def v1(self) -> Cid:
        """The same block's CIDv1 (a CIDv0 and its v1 name one dag-pb block)."""
        return Cid(1, self.codec, self.digest)

    def matches(self, data: bytes) -> bool:
        """Whether `data` is the block this CID names."""
        return hashlib.sha256(data).digest() == self.digest

    @staticmethod
    def of(codec: int, data: bytes) -> Cid:
        """The CIDv1 of `data` read with `codec` (RAW or DAG_PB)."""
        return Cid(1, codec, hashlib.sha256(data).digest())


def cid_from_digest(digest: bytes) -> str:
    """Encode a sha256 digest as a base32 raw CIDv1 string ("bafkrei...")."""
    if len(digest) != _DIGEST_LEN:
        raise InputError(f"a sha256 digest has 32 bytes, got {len(digest)}")
    return str(Cid(1, RAW, digest))


def cid_for(data: bytes) -> str:
    """The raw CID of `data`."""
    return cid_from_digest(hashlib.sha256(data).digest())


def digest_from_cid(cid: str) -> bytes:
    """The sha256 digest inside `cid`; rejects anything but a base32 raw sha256 CIDv1."""
    parsed = decode_cid(cid)
    if parsed.version != 1 or parsed.codec != RAW:
        raise InputError(f"{cid!r} is not a raw sha256 CIDv1: {_HINT}")
    return parsed.digest


@lru_cache(maxsize=1 << 16)  # a walk parses the same CIDs again and again; a Cid is immutable
def decode_cid(text: str) -> Cid:
    """Parse a CID's text; InputError unless it is a sha256 CIDv1 (raw, dag-pb) or CIDv0."""
    if not isinstance(text, str) or len(text) < 2 or len(text) > _MAX_TEXT:
        raise InputError(f"{text!r} is not a CID: {_HINT}")
    if text.startswith("Qm") and len(text) == 46:
        return _decode_v0(text)
    if not text.startswith("b"):
        raise InputError(f"{text!r} is not a CID: {_HINT}")
    body = text[1:]
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InputError(f"{text!r} is not valid base32: {_HINT}") from exc
    cid, end = cid_from_bytes(raw, 0)
    if end != len(raw) or str(cid) != text:  # one spelling per CID: lower case, no padding
        raise InputError(f"{text!r} is not a canonical sha256 CIDv1: {_HINT}")
    return cid


def cid_from_bytes(buf: bytes | memoryview, pos: int) -> tuple[Cid, int]:
    """The binary CID at `buf[pos:]` and the position after it; InputError if not one we accept."""
    head = bytes(buf[pos : pos + 4])
    if head[:2] == _MULTIHASH_PREFIX:
        start = pos + 2
        version, codec = 0, DAG_PB
    elif len(head) == 4 and head[0] == _CID_V1 and head[1] in (RAW, DAG_PB):
        if head[2:] != _MULTIHASH_PREFIX:
            raise InputError(f"CID {head.hex()}... is not a sha256 CID: {_HINT}")
        start = pos + 4
        version, codec = 1, head[1]
    else:
        raise InputError(f"CID {head.hex()}... is not a raw or dag-pb sha256 CID: {_HINT}")
    digest = bytes(buf[start : start + _DIGEST_LEN])
    if len(digest) != _DIGEST_LEN:
        raise InputError(f"CID {head.hex()}... is truncated: {_HINT}")
    return Cid(version, codec, digest), start + _DIGEST_LEN


def _decode_v0(text: str) -> Cid:
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise InputError(f"{text!r} is not valid base58: {_HINT}")
        number = number * 58 + index
    raw = number.to_bytes(34, "big") if number < 1 << 272 else b""
    if raw[:2] != _MULTIHASH_PREFIX:
        raise InputError(f"{text!r} is not a sha256 CIDv0: {_HINT}")
    return Cid(0, DAG_PB, raw[2:])  # base58 of 34 bytes that start 0x12: one spelling only


def _base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _BASE58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out

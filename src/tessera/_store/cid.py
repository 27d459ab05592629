"""CIDv1 with the raw codec and a sha256 multihash: the id an IPFS node gives the same bytes."""

from __future__ import annotations

import base64
import hashlib

from tessera._errors import InputError

_CID_V1 = 0x01
_RAW_CODEC = 0x55
_SHA2_256 = 0x12
_DIGEST_LEN = 32
_PREFIX = bytes([_CID_V1, _RAW_CODEC, _SHA2_256, _DIGEST_LEN])


def cid_from_digest(digest: bytes) -> str:
    """Encode a sha256 digest as a base32 CIDv1 string ("bafkrei...")."""
    if len(digest) != _DIGEST_LEN:
        raise InputError(f"a sha256 digest has 32 bytes, got {len(digest)}")
    body = base64.b32encode(_PREFIX + digest).decode().lower().rstrip("=")
    return "b" + body  # multibase prefix for base32 lower


def cid_for(data: bytes) -> str:
    """The CID of `data`."""
    return cid_from_digest(hashlib.sha256(data).digest())


def digest_from_cid(cid: str) -> bytes:
    """The sha256 digest inside `cid`; rejects anything but a base32 raw sha256 CIDv1."""
    hint = "expected a CIDv1 such as bafkrei... as printed by `tessera contribute`"
    if not isinstance(cid, str) or not cid.startswith("b") or len(cid) < 2:
        raise InputError(f"{cid!r} is not a CID: {hint}")
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InputError(f"{cid!r} is not valid base32: {hint}") from exc
    if len(raw) != len(_PREFIX) + _DIGEST_LEN or raw[: len(_PREFIX)] != _PREFIX:
        raise InputError(f"{cid!r} is not a raw sha256 CIDv1: {hint}")
    return raw[len(_PREFIX) :]

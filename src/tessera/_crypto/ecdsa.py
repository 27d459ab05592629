"""Signature recovery by exactly the rules the contracts apply (snekmate's `ecdsa._recover_sig`).

Ethereum libraries accept more forms than the contracts do: `v` as 0/1, and the high-`s` twin
of every signature. A node that took such a voucher would serve against a signature the
settlement contract refuses at redemption, so everything a peer signs is recovered here, by
the contract's rules:

- 65 bytes `r || s || v`: `v` is 27 or 28 (the `ecrecover` precompile returns nothing else);
- 64 bytes `r || vs` (EIP-2098): `s` is the low 255 bits of `vs`, `v` is 27 plus its top bit;
- `1 <= r < n` and `1 <= s <= n / 2`, and the recovered address is not zero.
"""

from __future__ import annotations

from eth_keys import keys
from eth_utils import to_checksum_address

from tessera._errors import SignatureError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2  # snekmate's _MALLEABILITY_THRESHOLD
SIGNATURE_LENGTHS = (64, 65)


def split_signature(signature: bytes) -> tuple[int, int, int]:
    """(v, r, s) as the contract reads them; SignatureError for any form it refuses."""
    if len(signature) not in SIGNATURE_LENGTHS:
        raise SignatureError(
            f"a signature is 65 bytes (r, s, v) or 64 (EIP-2098), not {len(signature)}"
        )
    r = int.from_bytes(signature[:32], "big")
    if len(signature) == 65:
        s, v = int.from_bytes(signature[32:64], "big"), signature[64]
    else:
        vs = int.from_bytes(signature[32:], "big")
        s, v = vs & ((1 << 255) - 1), 27 + (vs >> 255)
    if v not in (27, 28):
        raise SignatureError(f"the signature's v is {v}; the contracts accept only 27 or 28")
    if not 1 <= r < SECP256K1_N:
        raise SignatureError("the signature's r is outside 1..n-1")
    if not 1 <= s <= HALF_N:
        raise SignatureError(
            "the signature's s is zero or in the upper half of the curve order (a malleable "
            "form that the contracts refuse): sign again with a standard Ethereum signer"
        )
    return v, r, s


def recover_canonical(digest: bytes, signature: bytes) -> str:
    """The checksummed signer of a 32-byte digest, or SignatureError, as the contract decides."""
    v, r, s = split_signature(signature)
    try:
        public = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except Exception as exc:  # r that is no point's x coordinate: the precompile returns zero
        raise SignatureError(f"the signature recovers to no key ({exc})") from None
    return str(to_checksum_address(public.to_canonical_address()))


def parse_hex_signature(text: str, what: str) -> bytes:
    """`0x` and 128 or 130 hex digits, nothing else (no spaces, no odd lengths)."""
    body = text[2:] if text.startswith(("0x", "0X")) else None
    if body is None or len(body) not in (128, 130) or not _is_hex(body):
        raise SignatureError(
            f"the {what}'s signature is malformed: it must be 0x and 130 hex digits (128: EIP-2098)"
        )
    return bytes.fromhex(body)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)

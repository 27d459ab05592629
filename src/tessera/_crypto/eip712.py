"""EIP-712 typed data that contributors sign, and the Merkle leaf that binds them to it.

The hashes here mirror `registry.vy` exactly; tests compare both sides on a real EVM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import keccak, to_checksum_address

from tessera._crypto.ecdsa import parse_hex_signature, recover_canonical
from tessera._errors import SignatureError

REGISTRY_DOMAIN_NAME = "Tessera Registry"
REGISTRY_DOMAIN_VERSION = "1"
CONTRIBUTION_TYPE = "Contribution(uint256 datanet,bytes32 cid,string license)"
_CONTRIBUTION_TYPE_HASH = keccak(text=CONTRIBUTION_TYPE)
# spelled out for a wallet: eth_signTypedData_v4 hashes an empty domain type where it is missing
EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_DOMAIN_TYPE_HASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


@dataclass(frozen=True)
class Domain:
    """Where a signature is valid: one registry contract on one chain."""

    chain_id: int
    verifying_contract: str

    @property
    def separator(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    _DOMAIN_TYPE_HASH,
                    keccak(text=REGISTRY_DOMAIN_NAME),
                    keccak(text=REGISTRY_DOMAIN_VERSION),
                    self.chain_id,
                    to_checksum_address(self.verifying_contract),
                ],
            )
        )


def contribution_struct_hash(datanet: int, cid_digest: bytes, license: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "uint256", "bytes32", "bytes32"],
            [_CONTRIBUTION_TYPE_HASH, datanet, cid_digest, keccak(text=license)],
        )
    )


def contribution_digest(domain: Domain, datanet: int, cid_digest: bytes, license: str) -> bytes:
    """The 32 bytes a contributor signs (EIP-712 `\\x19\\x01 || domain || struct`)."""
    struct_hash = contribution_struct_hash(datanet, cid_digest, license)
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


def contribution_typed_data(
    domain: Domain, datanet: int, cid_digest: bytes, license: str
) -> dict[str, Any]:
    """The same message as a wallet would show it (eth_signTypedData_v4)."""
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_FIELDS,
            "Contribution": [
                {"name": "datanet", "type": "uint256"},
                {"name": "cid", "type": "bytes32"},
                {"name": "license", "type": "string"},
            ],
        },
        "primaryType": "Contribution",
        "domain": {
            "name": REGISTRY_DOMAIN_NAME,
            "version": REGISTRY_DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": to_checksum_address(domain.verifying_contract),
        },
        "message": {"datanet": datanet, "cid": cid_digest, "license": license},
    }


def contribution_leaf(datanet: int, cid_digest: bytes, license: str, contributor: str) -> bytes:
    """keccak(keccak(abi_encode(struct_hash, contributor))): double hashed, like the contract."""
    struct_hash = contribution_struct_hash(datanet, cid_digest, license)
    inner = keccak(encode(["bytes32", "address"], [struct_hash, to_checksum_address(contributor)]))
    return keccak(inner)


def sign_digest(account: LocalAccount, digest: bytes) -> bytes:
    """A 65-byte (r, s, v) signature; deterministic (RFC 6979), so a retry signs identically."""
    return bytes(account.unsafe_sign_hash(Hash32(digest)).signature)


def recover(digest: bytes, signature: bytes) -> str:
    """The signer, by the contracts' rules (see crypto/ecdsa.py); SignatureError otherwise."""
    try:
        return recover_canonical(digest, signature)
    except SignatureError as exc:
        raise SignatureError(f"signature {signature.hex()[:16]}... is refused: {exc}") from None


def check_signature(digest: bytes, signature: bytes, signer: str) -> None:
    """Raise SignatureError unless `signature` over `digest` recovers to `signer`."""
    recovered = recover(digest, signature)
    if recovered.lower() != signer.lower():
        raise SignatureError(
            f"signature does not belong to {signer} (it recovers to {recovered}): "
            "sign again with the contributor's own key"
        )


def sign_typed(account: LocalAccount, full_message: dict[str, Any]) -> str:
    """Sign EIP-712 typed data (eth_signTypedData_v4); the 0x-hex 65-byte signature."""
    return (
        "0x"
        + bytes(Account.sign_typed_data(account.key, full_message=full_message).signature).hex()
    )


def wallet_form(full_message: dict[str, Any]) -> dict[str, Any]:
    """The same typed data as a browser wallet's `eth_signTypedData_v4` takes it, hashing the
    same: the domain's type spelled out, the message's integers as decimal strings (JavaScript
    numbers lose digits above 2**53) and its bytes as 0x-hex (JSON has no bytes)."""
    message = {name: _for_json(value) for name, value in full_message["message"].items()}
    types = {"EIP712Domain": EIP712_DOMAIN_FIELDS, **full_message["types"]}
    return {**full_message, "types": types, "message": message}


def _for_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def typed_digest(full_message: dict[str, Any]) -> bytes:
    """The 32 bytes an EIP-712 signer signs: keccak(0x19 0x01 || domain separator || struct)."""
    message = encode_typed_data(full_message=full_message)
    return keccak(b"\x19" + message.version + message.header + message.body)


def recover_typed(full_message: dict[str, Any], signature: str, what: str) -> str:
    """The address that signed typed data, by the contracts' rules; SignatureError naming
    `what` if the signature is malformed or in a form the contracts refuse."""
    try:
        digest = typed_digest(full_message)
    except Exception as exc:  # a message that does not fit its types
        raise SignatureError(f"the {what} cannot be encoded for signing ({exc})") from None
    raw = parse_hex_signature(signature, what)
    try:
        return recover_canonical(digest, raw)
    except SignatureError as exc:
        raise SignatureError(f"the {what}'s signature is refused: {exc}") from None

"""A client's signature of one paid request (EIP-712), carried into the node's receipt.

Without it a node could invent receipts for requests nobody made and bill them against a
client's voucher. The client signs the request's hash with a fresh nonce, so two identical
questions are two authorizations and one authorization can back one receipt only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from tessera._crypto.ecdsa import parse_hex_signature
from tessera._crypto.eip712 import recover_typed, sign_typed
from tessera._errors import InputError, SignatureError

AUTHORIZATION_HEADER = "X-Tessera-Authorization"
NODE_DOMAIN_NAME = "Tessera Node"  # the receipts' domain too: one deployment's nodes
NODE_DOMAIN_VERSION = "1"
MAX_NONCE = 2**256 - 1
REQUEST_TYPES = {
    "Request": [
        {"name": "node", "type": "address"},
        {"name": "requestHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class ClientAuthorization:
    nonce: int
    signature: str  # 0x-hex, 65 bytes

    @property
    def hash(self) -> bytes:
        """What the receipt commits to (`authorizationHash`), as disputes.vy recomputes it."""
        raw = parse_hex_signature(self.signature, "client authorization")
        return keccak(encode(["uint256", "bytes"], [self.nonce, raw]))

    def to_header(self) -> str:
        return f"{self.nonce}:{self.signature}"

    @classmethod
    def from_header(cls, text: str) -> ClientAuthorization:
        nonce, sep, signature = text.partition(":")
        # isascii: "²".isdigit() holds, yet int() refuses it
        if (
            not sep
            or not (nonce.isascii() and nonce.isdigit())
            or len(nonce) > 78
            or int(nonce) > MAX_NONCE
        ):
            raise InputError(
                f"the {AUTHORIZATION_HEADER} header must be NONCE:0xSIGNATURE (a decimal nonce "
                "below 2**256 and the client's 65-byte EIP-712 signature of the request)"
            )
        parse_hex_signature(signature, "client authorization")
        return cls(int(nonce), signature)


def request_typed_data(
    chain_id: int, verifying_contract: str, node: str, request_hash: bytes, nonce: int
) -> dict[str, Any]:
    return {
        "types": REQUEST_TYPES,
        "primaryType": "Request",
        "domain": {
            "name": NODE_DOMAIN_NAME,
            "version": NODE_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": {
            "node": to_checksum_address(node),
            "requestHash": request_hash,
            "nonce": nonce,
        },
    }


def fresh_nonce() -> int:
    """A nonce no other request of this client will draw: 128 random bits."""
    return secrets.randbits(128)


def authorize_request(
    client: LocalAccount, chain_id: int, verifying_contract: str, node: str, request_hash: bytes
) -> ClientAuthorization:
    nonce = fresh_nonce()
    data = request_typed_data(chain_id, verifying_contract, node, request_hash, nonce)
    return ClientAuthorization(nonce, sign_typed(client, data))


def check_authorization(
    auth: ClientAuthorization,
    client: str,
    chain_id: int,
    verifying_contract: str,
    node: str,
    request_hash: bytes,
) -> None:
    """Raise SignatureError unless `client` signed this request for this node."""
    data = request_typed_data(chain_id, verifying_contract, node, request_hash, auth.nonce)
    signer = recover_typed(data, auth.signature, "client authorization")
    if signer != to_checksum_address(client):
        raise SignatureError(
            f"the request's authorization recovers to {signer}, not the paying client {client}: "
            "sign the exact request body for this node with the client's key"
        )

"""A client's payment voucher (EIP-712): the cumulative amount it lets one node redeem.

Vouchers are cumulative, so a newer one replaces every older one and the node keeps only the
highest. The settlement contract checks the same signature when the node redeems it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, is_checksum_address, to_checksum_address

from tessera._crypto.ecdsa import parse_hex_signature
from tessera._crypto.eip712 import recover_typed, sign_typed, wallet_form
from tessera._errors import InputError, SignatureError

SETTLEMENT_DOMAIN_NAME = "Tessera Settlement"
SETTLEMENT_DOMAIN_VERSION = "1"
VOUCHER_HEADER = "X-Tessera-Voucher"
VOUCHER_TYPES = {
    "Voucher": [
        {"name": "client", "type": "address"},
        {"name": "node", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Voucher:
    client: str
    node: str
    amount: int  # cumulative, in the token's smallest unit
    chain_id: int
    settlement: str  # the contract that redeems it (the EIP-712 verifying contract)
    signature: str = field(default="")

    def typed_data(self) -> dict[str, Any]:
        return {
            "types": VOUCHER_TYPES,
            "primaryType": "Voucher",
            "domain": {
                "name": SETTLEMENT_DOMAIN_NAME,
                "version": SETTLEMENT_DOMAIN_VERSION,
                "chainId": self.chain_id,
                "verifyingContract": to_checksum_address(self.settlement),
            },
            "message": {
                "client": to_checksum_address(self.client),
                "node": to_checksum_address(self.node),
                "amount": self.amount,
            },
        }

    def wallet_typed_data(self) -> dict[str, Any]:
        """The same message as a browser wallet's `eth_signTypedData_v4` takes it (it hashes
        the same; the amount as a decimal string)."""
        return wallet_form(self.typed_data())

    def signed_by(self, client: LocalAccount) -> Voucher:
        if client.address != to_checksum_address(self.client):
            raise SignatureError(f"voucher names client {self.client} but {client.address} signs")
        return replace(self, signature=sign_typed(client, self.typed_data()))

    def signer(self) -> str:
        """The address the signature recovers to (raises SignatureError if malformed)."""
        return recover_typed(self.typed_data(), self.signature, "voucher")

    def verify(self) -> None:
        """Raise SignatureError unless `client` signed exactly this voucher."""
        if self.signer() != to_checksum_address(self.client):
            raise SignatureError(
                f"the voucher is not signed by {self.client}: it was changed, or signed for "
                "another node, chain or settlement contract"
            )

    # wire -----------------------------------------------------------------------------------

    def to_header(self) -> str:
        return json.dumps(
            {
                "client": self.client,
                "node": self.node,
                "amount": str(self.amount),
                "chain_id": self.chain_id,
                "settlement": self.settlement,
                "signature": self.signature,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_header(cls, text: str) -> Voucher:
        """Parse the `X-Tessera-Voucher` header strictly (what the contract could redeem, in
        one form each); InputError says what is wrong with it."""
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise InputError(
                f"the {VOUCHER_HEADER} header is not a voucher: not JSON ({exc}); send the "
                "JSON object that Tessera's NodeClient signs"
            ) from None
        if not isinstance(body, dict) or set(body) != _HEADER_FIELDS:
            got = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise InputError(
                f"the {VOUCHER_HEADER} header is not a voucher: a voucher is a JSON object with "
                f"exactly the fields {sorted(_HEADER_FIELDS)}, not {got}"
            )
        return cls(
            client=_address(body["client"], "client"),
            node=_address(body["node"], "node"),
            amount=_uint256(body["amount"], "amount"),
            chain_id=_uint256(body["chain_id"], "chain_id"),
            settlement=_address(body["settlement"], "settlement"),
            signature=_signature(body["signature"]),
        )


_HEADER_FIELDS = {"client", "node", "amount", "chain_id", "settlement", "signature"}
_ZERO_ADDRESS = "0x" + "00" * 20


def _address(value: object, name: str) -> str:
    if not isinstance(value, str) or not is_address(value) or len(value) != 42:
        raise InputError(f"the voucher's {name} is not a 0x-prefixed 20-byte address")
    body = value[2:]
    if body not in (body.lower(), body.upper()) and not is_checksum_address(value):
        raise InputError(
            f"the voucher's {name} mixes cases but its EIP-55 checksum is wrong: a typo? "
            "Send it exactly as the signer wrote it"
        )
    if value.lower() == _ZERO_ADDRESS:
        raise InputError(f"the voucher's {name} is the zero address")
    return str(to_checksum_address(value))


def _uint256(value: object, name: str) -> int:
    """A JSON integer or a string of decimal digits; no bools, floats, signs or exponents."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"the voucher's {name} must be an integer (a decimal string or number)")
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 78:
        raise InputError(f"the voucher's {name} must be decimal digits only, not {text[:20]!r}")
    number = int(text)
    if number >= 2**256:
        raise InputError(f"the voucher's {name} is outside uint256")
    return number


def _signature(value: object) -> str:
    if not isinstance(value, str):
        raise InputError("the voucher's signature must be a 0x-hex string")
    try:
        parse_hex_signature(value, "voucher")
    except SignatureError as exc:
        raise InputError(str(exc)) from None
    return value

"""A client's payment voucher (EIP-712): the cumulative amount it lets one node redeem.

Vouchers are cumulative, so a newer one replaces every older one and the node keeps only the
highest. The settlement contract checks the same signature when the node redeems it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from tessera.crypto.eip712 import recover_typed, sign_typed
from tessera.errors import InputError, SignatureError

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
        """Parse the `X-Tessera-Voucher` header; InputError says what is wrong with it."""
        try:
            body = json.loads(text)
            voucher = cls(
                client=str(body["client"]),
                node=str(body["node"]),
                amount=int(str(body["amount"])),
                chain_id=int(body["chain_id"]),
                settlement=str(body["settlement"]),
                signature=str(body["signature"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"the {VOUCHER_HEADER} header is not a voucher ({type(exc).__name__}: {exc}): "
                "send the JSON object that tessera.client signs"
            ) from None
        for name in ("client", "node", "settlement"):
            if not is_address(getattr(voucher, name)):
                raise InputError(f"the voucher's {name} is not an address")
        if voucher.amount < 0 or voucher.amount >= 2**256:
            raise InputError("the voucher's amount is outside uint256")
        return voucher

"""A holder's signed delegation of its votes (EIP-712), as `votes.vy`'s `delegate_by_sig`
recovers it: `Delegation(delegatee, nonce, expiry)` under the token's own domain.

The message names no delegator: whoever signs it delegates, so the signer is recovered here
by the contracts' rules (see crypto/ecdsa.py) and compared with the one who claims it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from tessera._crypto.eip712 import recover_typed, wallet_form

DELEGATION_TYPES = {
    "Delegation": [
        {"name": "delegatee", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class TokenDomain:
    """Where a delegation is valid: the token's EIP-712 domain, as its `eip712Domain` says."""

    name: str
    version: str
    chain_id: int
    token: str  # the verifying contract


@dataclass(frozen=True)
class Delegation:
    domain: TokenDomain
    delegatee: str
    nonce: int  # the signer's `nonces` value, shared with `permit`
    expiry: int  # the last block timestamp at which the token accepts it

    def typed_data(self) -> dict[str, Any]:
        return {
            "types": DELEGATION_TYPES,
            "primaryType": "Delegation",
            "domain": {
                "name": self.domain.name,
                "version": self.domain.version,
                "chainId": self.domain.chain_id,
                "verifyingContract": to_checksum_address(self.domain.token),
            },
            "message": {
                "delegatee": to_checksum_address(self.delegatee),
                "nonce": self.nonce,
                "expiry": self.expiry,
            },
        }

    def wallet_typed_data(self) -> dict[str, Any]:
        """The same message as a browser wallet's `eth_signTypedData_v4` takes it (it hashes
        the same; nonce and expiry as decimal strings)."""
        return wallet_form(self.typed_data())

    def signer(self, signature: str) -> str:
        """The address that signed it (`signature`: 0x-hex, 65 or 64 bytes), by the rules the
        token applies; SignatureError if malformed or in a form the token refuses."""
        return recover_typed(self.typed_data(), signature, "delegation")

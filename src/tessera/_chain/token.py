"""Typed client of token.vy: balances, transfers, allowances and delegated voting power."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from tessera._chain.client import Chain
from tessera._errors import ChainError

# EIP-5267's field bits: name, version, chainId, verifyingContract; no salt, no extensions
_DOMAIN_FIELDS = b"\x0f"


class TokenClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("token", address)

    def balance_of(self, owner: str) -> int:
        fn = self.contract.functions.balanceOf(Web3.to_checksum_address(owner))
        return int(self.chain.call(fn))

    def allowance(self, owner: str, spender: str) -> int:
        fn = self.contract.functions.allowance(
            Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
        )
        return int(self.chain.call(fn))

    def total_supply(self) -> int:
        return int(self.chain.call(self.contract.functions.totalSupply()))

    def transfer(self, sender: LocalAccount, to: str, amount: int) -> None:
        fn = self.contract.functions.transfer(Web3.to_checksum_address(to), amount)
        self.chain.transact(fn, sender)

    def approve(self, sender: LocalAccount, spender: str, amount: int) -> None:
        fn = self.contract.functions.approve(Web3.to_checksum_address(spender), amount)
        self.chain.transact(fn, sender)

    def delegate(self, sender: LocalAccount, delegatee: str) -> None:
        fn = self.contract.functions.delegate(Web3.to_checksum_address(delegatee))
        self.chain.transact(fn, sender)

    def votes(self, account: str) -> int:
        fn = self.contract.functions.get_votes(Web3.to_checksum_address(account))
        return int(self.chain.call(fn))

    def delegate_of(self, account: str) -> str:
        fn = self.contract.functions.delegates(Web3.to_checksum_address(account))
        return str(self.chain.call(fn))

    def nonces(self, owner: str) -> int:
        """`owner`'s next permit or delegation nonce (one counter for both)."""
        return int(self.chain.call(self.contract.functions.nonces(Web3.to_checksum_address(owner))))

    def eip712_domain(self) -> tuple[str, str, int, str]:
        """(name, version, chain id, verifying contract) of the token's EIP-712 domain, read
        from the token itself (EIP-5267), so a signature made with it is one the token accepts."""
        fields, name, version, chain_id, verifying, _, _ = self.chain.call(
            self.contract.functions.eip712Domain()
        )
        if bytes(fields) != _DOMAIN_FIELDS:
            raise ChainError(
                f"the token at {self.address} has an EIP-712 domain with fields "
                f"0x{bytes(fields).hex()}, not name, version, chainId and verifyingContract: "
                "it is not Tessera's token"
            )
        return str(name), str(version), int(chain_id), str(Web3.to_checksum_address(verifying))

    def delegate_by_sig(
        self, delegatee: str, nonce: int, expiry: int, v: int, r: int, s: int
    ) -> ContractFunction:
        """The call that delegates for whoever signed `Delegation(delegatee, nonce, expiry)`;
        anyone may send it and pay its gas."""
        fn = self.contract.functions.delegate_by_sig
        return fn(
            Web3.to_checksum_address(delegatee),
            nonce,
            expiry,
            v,
            r.to_bytes(32, "big"),
            s.to_bytes(32, "big"),
        )

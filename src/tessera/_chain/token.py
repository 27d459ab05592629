"""Typed client of token.vy: balances, transfers, allowances and delegated voting power."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from tessera._chain.client import Chain


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

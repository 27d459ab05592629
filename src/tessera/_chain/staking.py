"""Typed client of staking.vy: node stake, the on-chain node registry, unbonding and slashing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from tessera._chain.client import Chain
from tessera._chain.token import TokenClient


@dataclass(frozen=True)
class NodeRecord:
    """One node as the registry lists it; amounts in the token's smallest unit."""

    address: str
    endpoint: str
    metadata_cid: str
    stake: int  # bonded: slashable, counted for eligibility
    unbonding: int  # waiting out the unbonding delay, still slashable
    withdrawable_at: int  # when `unbonding` can be withdrawn (0: nothing unbonding)
    registered_at: int  # timestamp of the latest registration
    active: bool  # registered and not left
    eligible: bool  # active with at least the minimum stake: clients may choose it


@dataclass(frozen=True)
class StakingParameters:
    """What governance sets on the staking contract."""

    min_stake: int  # the least bonded stake of an eligible node, smallest unit
    unbonding_delay: int  # seconds; the wait is never shorter than epoch + challenge + 1 s
    slasher: str  # the one address that may slash (the zero address: nobody)


class StakingClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("staking", address)

    @cached_property
    def token(self) -> TokenClient:
        return TokenClient(self.chain, self.chain.call(self.contract.functions.token()))

    # writes ---------------------------------------------------------------------------------

    def register(self, sender: LocalAccount, amount: int, endpoint: str, metadata_cid: str) -> int:
        """Approve and bond `amount`, and list the sender's node; returns the gas used."""
        self._approve(sender, amount)
        fn = self.contract.functions.register(amount, endpoint, metadata_cid)
        return self._gas(fn, sender)

    def update(self, sender: LocalAccount, endpoint: str, metadata_cid: str) -> int:
        return self._gas(self.contract.functions.update(endpoint, metadata_cid), sender)

    def add_stake(self, sender: LocalAccount, amount: int) -> int:
        self._approve(sender, amount)
        return self._gas(self.contract.functions.add_stake(amount), sender)

    def unbond(self, sender: LocalAccount, amount: int) -> int:
        return self._gas(self.contract.functions.unbond(amount), sender)

    def leave(self, sender: LocalAccount) -> int:
        return self._gas(self.contract.functions.leave(), sender)

    def withdraw(self, sender: LocalAccount) -> int:
        """Withdraw the sender's unbonded stake; returns the amount paid."""
        self.chain.catch_up_clock()  # the delay is checked against the next block's time
        before = self.token.balance_of(sender.address)
        self.chain.transact(self.contract.functions.withdraw(), sender)
        return self.token.balance_of(sender.address) - before

    def slash(self, sender: LocalAccount, node: str, amount: int, recipient: str) -> int:
        fn = self.contract.functions.slash(
            Web3.to_checksum_address(node), amount, Web3.to_checksum_address(recipient)
        )
        return self._gas(fn, sender)

    # reads ----------------------------------------------------------------------------------

    def node(self, address: str) -> NodeRecord:
        """The node's record, read at one block so its fields belong together."""
        address = Web3.to_checksum_address(address)
        block = self.chain.block_number()
        f = self.contract.functions
        endpoint, cid, stake, registered_at, active = self.chain.call(f.nodes(address), block)
        return NodeRecord(
            address,
            str(endpoint),
            str(cid),
            int(stake),
            int(self.chain.call(f.unbonding_of(address), block)),
            int(self.chain.call(f.withdrawable_at(address), block)),
            int(registered_at),
            bool(active),
            bool(self.chain.call(f.is_eligible(address), block)),
        )

    def nodes(self) -> list[NodeRecord]:
        """Every node ever registered, in order of first registration (left ones inactive)."""
        f = self.contract.functions
        count = int(self.chain.call(f.node_count()))
        return [self.node(self.chain.call(f.node_at(i))) for i in range(count)]

    def node_count(self) -> int:
        return int(self.chain.call(self.contract.functions.node_count()))

    def slashed(self, node: str, from_block: int = 0) -> int:
        """Every token ever slashed from `node` (its Slashed events), to whomever it went."""
        logs = self.chain.log_index.read(self.contract.events.Slashed, from_block, node=node)
        return sum(int(log.args.amount) for log in logs)

    def is_eligible(self, address: str) -> bool:
        fn = self.contract.functions.is_eligible(Web3.to_checksum_address(address))
        return bool(self.chain.call(fn))

    def min_stake(self) -> int:
        return int(self.chain.call(self.contract.functions.min_stake()))

    def unbonding_delay(self) -> int:
        return int(self.chain.call(self.contract.functions.unbonding_delay()))

    def slasher(self) -> str:
        return Web3.to_checksum_address(self.chain.call(self.contract.functions.slasher()))

    def parameters(self) -> StakingParameters:
        return StakingParameters(self.min_stake(), self.unbonding_delay(), self.slasher())

    def total_staked(self) -> int:
        return int(self.chain.call(self.contract.functions.total_staked()))

    def owner(self) -> str:
        return str(self.chain.call(self.contract.functions.owner()))

    # internals ------------------------------------------------------------------------------

    def _approve(self, sender: LocalAccount, amount: int) -> None:
        if amount > 0 and self.token.allowance(sender.address, self.address) < amount:
            self.token.approve(sender, self.address, amount)

    def _gas(self, fn: ContractFunction, sender: LocalAccount) -> int:
        return int(self.chain.transact(fn, sender)["gasUsed"])

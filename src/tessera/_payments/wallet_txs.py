"""Money steps as unsigned transactions for a browser wallet: a deposit into a node's channel
(the token's approval first, where the allowance is short) and claims of earnings, checked
as the escrow and the payout prover check them."""

from __future__ import annotations

from eth_utils import to_checksum_address

from tessera._chain.settlement import SettlementClient
from tessera._chain.wallet_txs import UnsignedTx, dry_run, unsigned, wallet_address
from tessera._errors import InputError
from tessera._payments.claims import claimable
from tessera._payments.units import format_tsr
from tessera._store.base import BlobStore


class PaymentTransactions:
    def __init__(self, settlement: SettlementClient, store: BlobStore) -> None:
        self.settlement = settlement
        self.store = store

    def deposit(self, sender: str, node: str, amount: int) -> list[UnsignedTx]:
        """Approve (if needed), then deposit: send them in order, the second once the first
        is mined (the deposit spends the allowance the approval grants)."""
        client, node = wallet_address(sender, "the sender"), wallet_address(node, "the node")
        if amount <= 0:
            raise InputError("deposit a positive amount of TSR")
        token, chain = self.settlement.token, self.settlement.chain
        held = token.balance_of(client)
        if held < amount:
            raise InputError(
                f"{client} holds {format_tsr(held)} TSR, less than the {format_tsr(amount)} "
                "to deposit: have tokens sent to it first"
            )
        steps = [self.settlement.contract.functions.deposit(node, amount)]
        if token.allowance(client, self.settlement.address) < amount:
            steps.insert(0, token.contract.functions.approve(self.settlement.address, amount))
        dry_run(chain, steps[0], client)  # the deposit cannot run before its approval is mined
        return [unsigned(chain, fn, client) for fn in steps]

    def claim(self, sender: str) -> list[UnsignedTx]:
        """One claim per node that owes the sender something, through its latest claimable
        epoch, with the Merkle proof from that epoch's bundle."""
        recipient = wallet_address(sender, "the sender")
        owed = claimable(self.settlement, self.store, recipient)
        if not owed:
            raise InputError(
                f"{recipient} has nothing to claim now: earnings become claimable once their "
                "epoch's challenge window is over"
            )
        claim, chain = self.settlement.contract.functions.claim, self.settlement.chain
        steps = [
            claim(to_checksum_address(item.node), item.epoch, item.cumulative, item.proof)
            for item in owed
        ]
        dry_run(chain, steps[0], recipient)
        return [unsigned(chain, fn, recipient) for fn in steps]

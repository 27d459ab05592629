"""What a client spent: every move of its escrow, from the settlement contract's logs (read
once, see `LogIndex`), newest first. A voucher redeemed is the money that left a channel to
pay for answers (less what was refunded when a node's epoch was voided); the receipts this
home kept say which answers those were."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from tessera._chain.settlement import SettlementClient

DEPOSIT, MOVED_IN, MOVED_OUT = "deposit", "moved in", "moved out"
WITHDRAWAL_REQUESTED, WITHDRAWN, PAID = "withdrawal requested", "withdrawn", "paid for answers"
REFUNDED = "refunded (a voided epoch's redemption, back to the channel)"


@dataclass(frozen=True)
class ChannelEvent:
    block: int
    transaction: str  # 0x-hex hash
    kind: str  # one of the names above
    node: str
    amount: int  # what it moved; for PAID, the fresh amount the voucher redeemed
    cumulative: int | None = None  # for PAID: the voucher's running total to this node

    @property
    def spent(self) -> int:
        """What it adds to the account's spending: a redemption, less a refund of one."""
        return self.amount if self.kind == PAID else -self.amount if self.kind == REFUNDED else 0


def channel_history(settlement: SettlementClient, client: str) -> list[ChannelEvent]:
    client = Web3.to_checksum_address(client)
    logs, events = settlement.chain.log_index, settlement.contract.events
    found = []
    for kind, event, node_arg in (
        (DEPOSIT, events.Deposited, "node"),
        (MOVED_IN, events.Moved, "to_node"),
        (MOVED_OUT, events.Moved, "from_node"),
        (WITHDRAWAL_REQUESTED, events.WithdrawalRequested, "node"),
        (WITHDRAWN, events.Withdrawn, "node"),
        (PAID, events.VoucherRedeemed, "node"),
        (REFUNDED, events.Refunded, "node"),
    ):
        for log in logs.read(event, client=client):
            args = log["args"]
            found.append((
                (int(log["blockNumber"]), int(log["logIndex"])),
                ChannelEvent(int(log["blockNumber"]), "0x" + bytes(log["transactionHash"]).hex(),
                             kind, str(args[node_arg]), int(args["amount"]),
                             int(args["cumulative"]) if kind == PAID else None),
            ))  # fmt: skip
    return [event for _, event in sorted(found, key=lambda pair: pair[0], reverse=True)]

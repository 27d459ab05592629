"""Typed client of settlement.vy: escrow per channel (client, node), vouchers redeemed per
epoch, payout and receipts roots, claims, and what a proven fault does to them (claims frozen
while a challenge is open, epochs voided, clients refunded)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from functools import cached_property
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import EventData

from tessera._chain.client import Chain
from tessera._chain.token import TokenClient
from tessera._errors import ContractRevert

BPS = 10_000
ZERO_ADDRESS = "0x" + "00" * 20
CLAIMABLE_PAGE = 128  # settlement.vy's _PAGE: epochs per claimable_times call


@dataclass(frozen=True)
class FeeSplit:
    """How each answer's price is divided, in basis points of 10,000, who the treasury is and
    where the validators' share goes (the disputes contract, a named recipient of every
    payout tree)."""

    node_bps: int
    owner_bps: int
    contributors_bps: int
    treasury_bps: int
    treasury: str
    validators_bps: int = 0
    validators: str = ZERO_ADDRESS

    def as_abi(self) -> tuple[int, int, int, int, str, int, str]:
        return (
            self.node_bps,
            self.owner_bps,
            self.contributors_bps,
            self.treasury_bps,
            Web3.to_checksum_address(self.treasury),
            self.validators_bps,
            Web3.to_checksum_address(self.validators),
        )

    @classmethod
    def from_abi(cls, fields: Any) -> FeeSplit:
        node, owner, contributors, treasury_bps, treasury, validators_bps, validators = fields
        return cls(
            int(node),
            int(owner),
            int(contributors),
            int(treasury_bps),
            str(treasury),
            int(validators_bps),
            str(validators),
        )


@dataclass(frozen=True)
class Periods:
    epoch_length: int  # seconds a node waits between two of its epochs
    challenge_period: int  # seconds after posting before claims open
    withdrawal_delay: int  # seconds a client's withdrawal waits; above epoch_length


@dataclass(frozen=True)
class Redemption:
    """One client's voucher as redeemed: signed for `signed_amount`, taken up to `amount`
    (both cumulative over the channel's life)."""

    client: str
    signed_amount: int
    amount: int
    signature: str  # 0x-hex, 65 bytes

    def as_abi(self) -> tuple[str, int, int, bytes]:
        return (
            Web3.to_checksum_address(self.client),
            self.signed_amount,
            self.amount,
            bytes.fromhex(self.signature.removeprefix("0x")),
        )

    def to_json(self) -> dict[str, str]:
        # amounts as strings: JSON readers lose integers above 2**53
        return {
            "client": self.client,
            "signed_amount": str(self.signed_amount),
            "amount": str(self.amount),
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Redemption:
        return cls(
            str(body["client"]), int(body["signed_amount"]), int(body["amount"]), body["signature"]
        )


@dataclass(frozen=True)
class Refund:
    """What a voided epoch pays one client back: the amount newly redeemed from it then."""

    client: str
    amount: int

    def as_abi(self) -> tuple[str, int]:
        return (Web3.to_checksum_address(self.client), self.amount)


@dataclass(frozen=True)
class PostedEpoch:
    node: str
    epoch: int
    root: bytes
    total: int
    bundle_cid: str
    receipt_count: int
    redeemed: int
    posted_at: int
    split: FeeSplit
    receipts_root: bytes
    posted_block: int  # the hash of the block after it seeds the validators' sample


@dataclass(frozen=True)
class EpochSummary:
    """A posted epoch as a node's page lists it, read from its EpochPosted log."""

    epoch: int
    posted_at: int
    total: int
    redeemed: int
    receipt_count: int
    claimable_at: int
    voided: bool
    refunded: bool


@dataclass(frozen=True)
class Withdrawal:
    amount: int
    available_at: int


@dataclass(frozen=True)
class Channel:
    """A client's escrow committed to one node: only that node redeems from it."""

    node: str
    balance: int  # what the node can still redeem, the pending withdrawal included
    withdrawing: int  # the pending withdrawal (0: none)
    available_at: int  # when it can leave the channel (0: none pending)


class SettlementClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.contract("settlement", address)

    @cached_property
    def token(self) -> TokenClient:
        return TokenClient(self.chain, self.chain.call(self.contract.functions.token()))

    # escrow, one channel per (client, node) ----------------------------------------------------

    def deposit(self, sender: LocalAccount, node: str, amount: int) -> None:
        """Commit `amount` of the sender's tokens to its channel to `node`."""
        if self.token.allowance(sender.address, self.address) < amount:
            self.token.approve(sender, self.address, amount)
        fn = self.contract.functions.deposit(Web3.to_checksum_address(node), amount)
        self.chain.transact(fn, sender)

    def request_withdrawal(self, sender: LocalAccount, node: str, amount: int) -> Withdrawal:
        node = Web3.to_checksum_address(node)
        self.chain.transact(self.contract.functions.request_withdrawal(node, amount), sender)
        return self.withdrawal(sender.address, node)

    def withdraw(self, sender: LocalAccount, node: str) -> int:
        self.chain.catch_up_clock()
        before = self.token.balance_of(sender.address)
        fn = self.contract.functions.withdraw(Web3.to_checksum_address(node))
        self.chain.transact(fn, sender)
        return self.token.balance_of(sender.address) - before

    def move(self, sender: LocalAccount, from_node: str, to_node: str) -> int:
        """Move a channel's withdrawal, once its delay is over, into another channel."""
        self.chain.catch_up_clock()
        before = self.balance(sender.address, to_node)
        fn = self.contract.functions.move(
            Web3.to_checksum_address(from_node), Web3.to_checksum_address(to_node)
        )
        self.chain.transact(fn, sender)
        return self.balance(sender.address, to_node) - before

    def balance(self, client: str, node: str) -> int:
        """What `node` can still redeem from the client's channel (a pending withdrawal too)."""
        fn = self.contract.functions.channel_balance(
            Web3.to_checksum_address(client), Web3.to_checksum_address(node)
        )
        return int(self.chain.call(fn))

    def withdrawal(self, client: str, node: str) -> Withdrawal:
        client, node = Web3.to_checksum_address(client), Web3.to_checksum_address(node)
        amount, _, _ = self.chain.call(self.contract.functions.withdrawals(client, node))
        available_at = self.chain.call(
            self.contract.functions.withdrawal_available_at(client, node)
        )
        return Withdrawal(int(amount), int(available_at))

    def withdrawing(self, client: str, node: str) -> int:
        """The amount of the channel's pending withdrawal (0: none); one call, for hot paths."""
        fn = self.contract.functions.withdrawals(
            Web3.to_checksum_address(client), Web3.to_checksum_address(node)
        )
        return int(self.chain.call(fn)[0])

    def channels(self, client: str, from_block: int = 0) -> list[Channel]:
        """Every channel the client ever funded (by deposit or move), in order of first
        funding, with what it holds now."""
        client = Web3.to_checksum_address(client)
        logs = self.chain.log_index
        deposits = logs.read(self.contract.events.Deposited, from_block, client=client)
        moves = logs.read(self.contract.events.Moved, from_block, client=client)
        funded = sorted(
            [(log.blockNumber, log.logIndex, log.args.node) for log in deposits]
            + [(log.blockNumber, log.logIndex, log.args.to_node) for log in moves]
        )
        nodes = dict.fromkeys(Web3.to_checksum_address(node) for _, _, node in funded)
        found = []
        for node in nodes:
            pending = self.withdrawal(client, node)
            found.append(Channel(node, self.balance(client, node), *astuple(pending)))
        return found

    def redeemed(self, client: str, node: str) -> int:
        fn = self.contract.functions.redeemed(
            Web3.to_checksum_address(client), Web3.to_checksum_address(node)
        )
        return int(self.chain.call(fn))

    def voucher_signer(self, client: str, node: str, amount: int, signature: str) -> str | None:
        """Whom the contract's own redemption check takes a voucher to be signed by; None
        when it refuses the signature outright (a malleable or invalid form)."""
        fn = self.contract.functions.voucher_signer(
            Web3.to_checksum_address(client),
            Web3.to_checksum_address(node),
            amount,
            bytes.fromhex(signature.removeprefix("0x")),
        )
        try:
            return str(Web3.to_checksum_address(self.chain.call(fn)))
        except ContractRevert:
            return None

    # epochs ---------------------------------------------------------------------------------

    def post_epoch(
        self,
        sender: LocalAccount,
        epoch: int,
        root: bytes,
        total: int,
        bundle_cid: str,
        receipt_count: int,
        receipts_root: bytes,
        split: FeeSplit,
        redemptions: list[Redemption],
    ) -> int:
        """Post one epoch; returns the gas it used."""
        self.chain.catch_up_clock()
        fn = self.contract.functions.post_epoch(
            epoch,
            root,
            total,
            bundle_cid,
            receipt_count,
            receipts_root,
            split.as_abi(),
            [r.as_abi() for r in redemptions],
        )
        return int(self.chain.transact(fn, sender)["gasUsed"])

    def epoch_count(self, node: str) -> int:
        fn = self.contract.functions.epoch_count(Web3.to_checksum_address(node))
        return int(self.chain.call(fn))

    def epoch(self, node: str, epoch: int) -> PostedEpoch:
        fn = self.contract.functions.epochs(Web3.to_checksum_address(node), epoch)
        fields = self.chain.call(fn)
        root, total, cid, count, redeemed, posted_at, split, _, _ = fields[:9]
        receipts_root, posted_block, _ = fields[9:]
        return PostedEpoch(
            Web3.to_checksum_address(node),
            epoch,
            bytes(root),
            int(total),
            str(cid),
            int(count),
            int(redeemed),
            int(posted_at),
            FeeSplit.from_abi(split),
            bytes(receipts_root),
            int(posted_block),
        )

    def next_epoch_at(self, node: str) -> int:
        fn = self.contract.functions.next_epoch_at(Web3.to_checksum_address(node))
        return int(self.chain.call(fn))

    def claimable_at(self, node: str, epoch: int) -> int:
        fn = self.contract.functions.claimable_at(Web3.to_checksum_address(node), epoch)
        return int(self.chain.call(fn))

    def claimable_times(self, node: str) -> list[int]:
        """When claims open for each of the node's epochs, as `claimable_at`, read a page of
        epochs per call (an account's earnings show every epoch's status)."""
        node = Web3.to_checksum_address(node)
        count, times = self.epoch_count(node), list[int]()
        try:
            for first in range(0, count, CLAIMABLE_PAGE):
                fn = self.contract.functions.claimable_times(
                    node, first, min(CLAIMABLE_PAGE, count - first)
                )
                times.extend(int(t) for t in self.chain.call(fn))
        except ContractRevert:  # a settlement deployed before the view: one call per epoch
            return [self.claimable_at(node, n) for n in range(count)]
        return times

    def epoch_summaries(self, node: str, numbers: Iterable[int]) -> list[EpochSummary]:
        """The node's epochs `numbers`, from their logs and a few calls for them all (one
        per 128 epochs for when claims open, one for where voiding starts), not four per
        epoch; a voided one costs one more, to ask whether it was refunded."""
        node = Web3.to_checksum_address(node)
        logs = {int(log["args"]["epoch"]): log for log in self.posted_logs(node)}
        opening, first_voided = self.claimable_times(node), self.voided_from(node)
        found = []
        for n in numbers:
            if n not in logs or n >= len(opening):
                raise ContractRevert(f"settlement: node {node} has not posted epoch {n}")
            args, voided = logs[n]["args"], first_voided is not None and n >= first_voided
            block = self.chain.w3.eth.get_block(logs[n]["blockNumber"])
            found.append(EpochSummary(n, int(block["timestamp"]), int(args["total"]),
                                      int(args["redeemed"]), int(args["receipt_count"]),
                                      opening[n], voided,
                                      voided and self.is_refunded(node, n)))  # fmt: skip
        return found

    def posted_logs(self, node: str) -> list[EventData]:
        """The node's EpochPosted logs, in epoch order: each epoch's root, total and bundle
        CID without a call per epoch."""
        return self.chain.log_index.read(self.contract.events.EpochPosted, node=node)

    def nodes_with_epochs(self, from_block: int = 0) -> list[str]:
        """Every node that has posted an epoch, in order of first post."""
        logs = self.chain.log_index.read(self.contract.events.EpochPosted, from_block)
        return list(dict.fromkeys(Web3.to_checksum_address(log.args.node) for log in logs))

    def epoch_posted_block(self, node: str, epoch: int, from_block: int = 0) -> int | None:
        """The block in which a node's epoch was posted (None if it was not)."""
        node = Web3.to_checksum_address(node)
        logs = self.chain.log_index.read(self.contract.events.EpochPosted, from_block, node=node)
        blocks = [int(log.blockNumber) for log in logs if int(log.args.epoch) == epoch]
        return blocks[0] if blocks else None

    def refunds(self, node: str, epoch: int) -> list[Refund]:
        """What refunding a voided epoch pays: its redemptions' fresh amounts, in posting order,
        read from its VoucherRedeemed logs (the list `refund` checks against the epoch)."""
        node = Web3.to_checksum_address(node)
        block = self.epoch_posted_block(node, epoch)
        if block is None:
            return []
        logs = self.chain.log_index.read(
            self.contract.events.VoucherRedeemed, block, block, node=node
        )
        return [Refund(str(log.args.client), int(log.args.amount)) for log in logs]

    def node_redeemed(self, node: str) -> int:
        fn = self.contract.functions.node_redeemed(Web3.to_checksum_address(node))
        return int(self.chain.call(fn))

    def node_paid(self, node: str) -> int:
        fn = self.contract.functions.node_paid(Web3.to_checksum_address(node))
        return int(self.chain.call(fn))

    # claims ---------------------------------------------------------------------------------

    def claim(
        self, sender: LocalAccount, node: str, epoch: int, cumulative: int, proof: list[bytes]
    ) -> int:
        """Claim through `epoch`; returns the gas it used."""
        self.chain.catch_up_clock()
        fn = self.contract.functions.claim(Web3.to_checksum_address(node), epoch, cumulative, proof)
        return int(self.chain.transact(fn, sender)["gasUsed"])

    def claimed(self, node: str, recipient: str) -> int:
        fn = self.contract.functions.claimed(
            Web3.to_checksum_address(node), Web3.to_checksum_address(recipient)
        )
        return int(self.chain.call(fn))

    def leaf(self, node: str, recipient: str, cumulative: int) -> bytes:
        fn = self.contract.functions.leaf(
            Web3.to_checksum_address(node), Web3.to_checksum_address(recipient), cumulative
        )
        return bytes(self.chain.call(fn))

    # what a challenge does to a node's epochs --------------------------------------------------

    def disputes(self) -> str:
        """The linked disputes contract (the zero address until linked)."""
        return str(self.chain.call(self.contract.functions.disputes()))

    def link_disputes(self, sender: LocalAccount, disputes: str) -> None:
        """Name, once, the disputes contract (only the owner may)."""
        fn = self.contract.functions.link_disputes(Web3.to_checksum_address(disputes))
        self.chain.transact(fn, sender)

    def open_challenges(self, node: str) -> int:
        """How many open challenges freeze the node's claims (0: claims flow)."""
        return int(self.chain.call(self.contract.functions.frozen(Web3.to_checksum_address(node))))

    def voided_from(self, node: str) -> int | None:
        """The node's first voided epoch (it is ejected from then on); None if none."""
        fn = self.contract.functions.voided_from(Web3.to_checksum_address(node))
        stored = int(self.chain.call(fn))
        return stored - 1 if stored else None

    def is_voided(self, node: str, epoch: int) -> bool:
        fn = self.contract.functions.is_voided(Web3.to_checksum_address(node), epoch)
        return bool(self.chain.call(fn))

    def is_refunded(self, node: str, epoch: int) -> bool:
        fn = self.contract.functions.refunded(Web3.to_checksum_address(node), epoch)
        return bool(self.chain.call(fn))

    def refund(
        self, sender: LocalAccount, node: str, epoch: int, refunds: list[Refund] | None = None
    ) -> int:
        """Pay a voided epoch's clients back (anyone may); the refunds default to those read
        from the epoch's logs. Returns the gas it used."""
        if refunds is None:
            refunds = self.refunds(node, epoch)
        fn = self.contract.functions.refund(
            Web3.to_checksum_address(node), epoch, [r.as_abi() for r in refunds]
        )
        return int(self.chain.transact(fn, sender)["gasUsed"])

    # parameters -----------------------------------------------------------------------------

    def fee_split(self) -> FeeSplit:
        return FeeSplit.from_abi(self.chain.call(self.contract.functions.fee_split()))

    def periods(self) -> Periods:
        f = self.contract.functions
        return Periods(
            int(self.chain.call(f.epoch_length())),
            int(self.chain.call(f.challenge_period())),
            int(self.chain.call(f.withdrawal_delay())),
        )

    def owner(self) -> str:
        return str(self.chain.call(self.contract.functions.owner()))

    def now(self) -> int:
        """Chain time, which every period is measured on (see `Chain.now`)."""
        return self.chain.now()

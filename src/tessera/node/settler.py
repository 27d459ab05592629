"""Epoch settlement: the node's receipts become one payout root and one transaction.

tessera epoch settle        # or the node itself, whenever an epoch is due

Crash-safe in two steps. (1) Build: split the receipts, store the bundle, then record the
epoch and take its receipts in one database transaction. (2) Post: if the chain already has
the epoch (a crash after mining), check its root and mark it; else send it. Running again at
any point resumes; the contract refuses a second post of an epoch, so nothing posts twice.
"""

from __future__ import annotations

import fcntl
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from tessera.chain.registry import RegistryClient
from tessera.chain.settlement import Redemption, SettlementClient
from tessera.crypto.receipt import Receipt
from tessera.errors import AccountError, ChainError, ContractRevert, TesseraError
from tessera.node.receipt_db import BUILT, EpochRow, ReceiptDB
from tessera.payments.bundle import EpochBundle, build_bundle, load_bundle
from tessera.store.base import BlobStore

MAX_CLIENTS_PER_EPOCH = 256  # settlement.vy's bound on redemptions per post


class NotDue(TesseraError):
    """The node's previous epoch is too recent for the next one to be posted."""


@dataclass(frozen=True)
class SettleResult:
    epoch: int
    receipts: int
    redeemed: int  # this epoch's vouchers, in the token's smallest unit
    total: int  # cumulative payouts through this epoch
    root: str
    bundle_cid: str
    gas: int | None  # None when the chain already had it (a resumed settlement)
    deferred: list[str] = field(default_factory=list)  # clients left for a later epoch


class EpochSettler:
    def __init__(
        self,
        settlement: SettlementClient,
        registry: RegistryClient,
        store: BlobStore,
        db: ReceiptDB,
        node_key: LocalAccount,
        lock_path: Path,
    ) -> None:
        self.settlement = settlement
        self.registry = registry
        self.store = store
        self.db = db
        self.node_key = node_key
        self.lock_path = lock_path

    @property
    def node(self) -> str:
        return self.node_key.address

    def next_due(self) -> int:
        """Chain time from which the next epoch may be posted (0: now)."""
        return self.settlement.next_epoch_at(self.node)

    def due(self) -> bool:
        pending = any(row.status == BUILT for row in self.db.epochs())
        return pending or (self.db.has_unsettled() and self.settlement.now() >= self.next_due())

    def settle(self) -> SettleResult | None:
        """Settle (or finish settling) the next epoch; None when there is nothing to settle."""
        with self._exclusive():
            rows = self.db.epochs()
            built = [row for row in rows if row.status == BUILT]
            if built:
                return self._post(built[0])
            on_chain = self.settlement.epoch_count(self.node)
            if on_chain != len(rows):
                raise ChainError(
                    f"node {self.node} has {on_chain} epochs on chain but {len(rows)} in "
                    f"{self.db.path}: settle from the database that posted them"
                )
            if not self.db.has_unsettled():
                return None
            due = self.next_due()
            if self.settlement.now() < due:
                raise NotDue(
                    f"epoch {on_chain} can be posted from chain time {due} "
                    f"({due - self.settlement.now()} s from now)"
                )
            row, deferred = self._build(len(rows), rows[-1] if rows else None)
            return None if row is None else self._post(row, deferred)

    # build ----------------------------------------------------------------------------------

    def _build(self, epoch: int, previous: EpochRow | None) -> tuple[EpochRow | None, list[str]]:
        """Record the next epoch from every collectable receipt; also returns the clients
        whose receipts must wait."""
        by_client: dict[str, list[Receipt]] = defaultdict(list)
        for receipt in self.db.unsettled():
            if to_checksum_address(receipt.node) != self.node:
                raise AccountError(
                    f"this node's receipts are signed by {receipt.node}, not {self.node}: "
                    "settle as the account that runs the node (--as NAME)"
                )
            by_client[receipt.client].append(receipt)
        redemptions: list[Redemption] = []
        taken: list[Receipt] = []
        deferred: list[str] = []
        for client, receipts in by_client.items():
            redemption = self._redemption(client, sum(r.price for r in receipts))
            if redemption is None or len(redemptions) == MAX_CLIENTS_PER_EPOCH:
                deferred.append(client)
                continue
            redemptions.append(redemption)
            taken += receipts
        if not taken:
            return None, deferred
        models = sorted({r.model for r in taken})
        bundle = build_bundle(
            self.node,
            self.settlement.chain.chain_id,
            self.settlement.address,
            epoch,
            self.settlement.fee_split(),
            {m: self.registry.model_owner(m) for m in models},
            taken,
            redemptions,
            load_bundle(self.store, previous.bundle_cid).cumulative if previous else {},
        )
        cid = self.store.put(bundle.to_bytes())
        self.db.begin_epoch(epoch, cid, [r.id for r in taken])
        return EpochRow(epoch, BUILT, cid, None), deferred

    def _redemption(self, client: str, owed: int) -> Redemption | None:
        """The redemption that collects `owed` from a client, or None if it cannot be collected
        now (no voucher covering it, or an escrow too small: the receipts wait)."""
        voucher = self.db.voucher(client)
        amount = self.settlement.redeemed(client, self.node) + owed
        if voucher is None or voucher.amount < amount:
            return None
        if self.settlement.balance(client) < owed:
            return None
        return Redemption(client, voucher.amount, amount, voucher.signature)

    # post -----------------------------------------------------------------------------------

    def _post(self, row: EpochRow, deferred: list[str] | None = None) -> SettleResult | None:
        bundle = load_bundle(self.store, row.bundle_cid)
        gas: int | None = None
        if self.settlement.epoch_count(self.node) > row.epoch:
            posted = self.settlement.epoch(self.node, row.epoch)
            if "0x" + posted.root.hex() != bundle.root:
                raise ChainError(
                    f"epoch {row.epoch} of node {self.node} is on chain with root "
                    f"0x{posted.root.hex()}, not this database's {bundle.root}"
                )
        else:
            try:
                gas = self.settlement.post_epoch(
                    self.node_key,
                    row.epoch,
                    bytes.fromhex(bundle.root.removeprefix("0x")),
                    bundle.total,
                    row.bundle_cid,
                    len(bundle.receipts),
                    bundle.split,
                    list(bundle.redemptions),
                )
            except ContractRevert as exc:
                if exc.reason != "settlement: fee split changed":
                    raise
                self.db.discard_epoch(row.epoch)  # governance moved: rebuild under the new split
                rebuilt, deferred = self._build(row.epoch, self._previous(row.epoch))
                return None if rebuilt is None else self._post(rebuilt, deferred)
        self.db.mark_posted(row.epoch, gas)
        return self._result(row, bundle, gas, deferred or [])

    def _previous(self, epoch: int) -> EpochRow | None:
        rows = [r for r in self.db.epochs() if r.epoch == epoch - 1]
        return rows[0] if rows else None

    def _result(
        self, row: EpochRow, bundle: EpochBundle, gas: int | None, deferred: list[str]
    ) -> SettleResult:
        redeemed = sum(r.price for r in bundle.receipts)
        return SettleResult(
            row.epoch,
            len(bundle.receipts),
            redeemed,
            bundle.total,
            bundle.root,
            row.bundle_cid,
            gas,
            deferred,
        )

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One settler per node database at a time (the node's own and `tessera epoch settle`)."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

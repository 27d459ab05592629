"""Epoch settlement: the node's receipts become one payout root and one transaction.

tessera epoch settle        # or the node itself, whenever an epoch is due

Crash-safe in two steps. (1) Build: split the receipts, store the bundle, then record the
epoch and take its receipts in one database transaction. (2) Post: if the chain already has
the epoch (a crash after mining), check its payout and receipts roots and mark it; else send
it. Running again at any point resumes; the contract refuses a second post of an epoch, so
nothing posts twice.
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

from tessera._chain.governance import PolicyClient
from tessera._chain.settlement import Redemption, SettlementClient
from tessera._crypto.receipt import Receipt
from tessera._errors import AccountError, ChainError, ContractRevert, NotDue
from tessera._payments.bundle import EpochBundle, build_bundle, load_bundle
from tessera._payments.ledger import BUILT, EpochRow, ReceiptDB
from tessera._payments.trace import owner_key
from tessera._store.base import BlobStore

MAX_CLIENTS_PER_EPOCH = 256  # settlement.vy's bound on redemptions per post
MAX_REBUILDS = 3  # an escrow revert means a check raced the chain: rebuild, then give up loudly

NO_VOUCHER, VOUCHER_SHORT, VOUCHER_REFUSED, ESCROW_SHORT = (
    "no_voucher",
    "voucher_short",
    "voucher_refused",
    "escrow_short",
)


@dataclass(frozen=True)
class Uncollectable:
    """A client's receipts that cannot be redeemed now: kept, retried every epoch, reported."""

    client: str
    receipts: int
    owed: int  # in the token's smallest unit
    reason: str  # one of the codes above
    detail: str  # what happened and what to do

    def to_json(self) -> dict[str, str | int]:
        return {
            "client": self.client,
            "receipts": self.receipts,
            "owed": str(self.owed),
            "reason": self.reason,
            "detail": self.detail,
        }


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
    uncollectable: list[Uncollectable] = field(default_factory=list)  # of those, why


@dataclass(frozen=True)
class SettlementStatus:
    """Where a node's money stands: `tessera node status`, `/health`, `tessera epoch settle`."""

    node: str
    database: str
    unsettled_receipts: int
    unsettled_amount: int
    epochs_posted: int
    epochs_built: int  # stored but not yet on chain: the next settle posts them
    next_due: int  # chain time from which the next epoch may be posted
    now: int
    uncollectable: list[Uncollectable]

    @property
    def ok(self) -> bool:
        return not self.uncollectable

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "unsettled_receipts": self.unsettled_receipts,
            "unsettled_amount": str(self.unsettled_amount),
            "epochs_posted": self.epochs_posted,
            "epochs_built": self.epochs_built,
            "next_due": self.next_due,
            "uncollectable": [u.to_json() for u in self.uncollectable],
            "uncollectable_amount": str(sum(u.owed for u in self.uncollectable)),
        }


class EpochSettler:
    def __init__(
        self,
        settlement: SettlementClient,
        policy: PolicyClient,
        store: BlobStore,
        db: ReceiptDB,
        node_key: LocalAccount,
        lock_path: Path,
    ) -> None:
        self.settlement = settlement
        self.policy = policy
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

    def status(self) -> SettlementStatus:
        owing = self.db.owing_clients()
        rows = self.db.epochs()
        return SettlementStatus(
            self.node,
            str(self.db.path),
            sum(count for count, _ in owing.values()),
            sum(total for _, total in owing.values()),
            sum(1 for r in rows if r.status != BUILT),
            sum(1 for r in rows if r.status == BUILT),
            self.next_due(),
            self.settlement.now(),
            self.uncollectable(),
        )

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
            row, waiting = self._build(len(rows), rows[-1] if rows else None)
            return None if row is None else self._post(row, waiting)

    # build ----------------------------------------------------------------------------------

    def _build(
        self, epoch: int, previous: EpochRow | None
    ) -> tuple[EpochRow | None, list[Uncollectable]]:
        """Record the next epoch from every collectable receipt; also returns the clients
        whose receipts must wait, and why."""
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
        waiting: list[Uncollectable] = []
        for client, receipts in by_client.items():
            owed = sum(r.price for r in receipts)
            checked = self._redemption(client, len(receipts), owed)
            if isinstance(checked, Uncollectable):
                waiting.append(checked)
            elif len(redemptions) == MAX_CLIENTS_PER_EPOCH:
                continue  # collectable, just not in this epoch: the next one takes them
            else:
                redemptions.append(checked)
                taken += receipts
        if not taken:
            return None, waiting
        models = sorted({r.model for r in taken})
        digests = {m: d for m in models if (d := self.db.model_digest(m))}
        versions = sorted({(r.model, r.model_digest) for r in taken})
        bundle = build_bundle(
            self.node,
            self.settlement.chain.chain_id,
            self.settlement.address,
            epoch,
            self.settlement.fee_split(),
            {owner_key(m, d): self._royalty_owner(m, d) for m, d in versions},
            taken,
            redemptions,
            load_bundle(self.store, previous.bundle_cid).cumulative if previous else {},
            digests,
        )
        cid = self.store.put(bundle.to_bytes())
        self.db.begin_epoch(epoch, cid, [r.id for r in taken])
        return EpochRow(epoch, BUILT, cid, None), waiting

    def _royalty_owner(self, model: str, digest: str) -> str | None:
        """Governance names the royalty owner of each model version when it approves it; a
        version never approved (or weights not recorded, the zero digest) pays the treasury."""
        return None if int(digest, 16) == 0 else self.policy.royalty_owner(model, digest)

    def uncollectable(self) -> list[Uncollectable]:
        """Every client whose unsettled receipts the node cannot redeem now (reads the chain)."""
        found = []
        for client, (count, owed) in sorted(self.db.owing_clients().items()):
            checked = self._redemption(client, count, owed)
            if isinstance(checked, Uncollectable):
                found.append(checked)
        return found

    def _redemption(self, client: str, count: int, owed: int) -> Redemption | Uncollectable:
        """The redemption that collects `owed` from a client, checked by the contract's own
        rules; or why it cannot be collected now (the receipts wait and are reported)."""

        def waits(reason: str, detail: str) -> Uncollectable:
            return Uncollectable(client, count, owed, reason, detail)

        voucher = self.db.voucher(client)
        amount = self.settlement.redeemed(client, self.node) + owed
        if voucher is None:
            return waits(NO_VOUCHER, "no voucher from this client is kept: it must sign one")
        if voucher.amount < amount:
            return waits(
                VOUCHER_SHORT,
                f"its best voucher authorises {voucher.amount}, short of the {amount} owed in "
                "all: the client must sign a voucher for the cumulative total",
            )
        signer = self.settlement.voucher_signer(
            client, self.node, voucher.amount, voucher.signature
        )
        if signer != to_checksum_address(client):
            self.db.drop_voucher(client)  # so the client's next valid voucher counts
            return waits(
                VOUCHER_REFUSED,
                "the settlement contract refuses its voucher's signature: it was dropped; "
                "the receipts wait for the client's next valid voucher",
            )
        balance = self.settlement.balance(client, self.node)
        if balance < owed:
            return waits(
                ESCROW_SHORT,
                f"its channel to this node holds {balance}, short of the {owed} owed (withdrawn "
                "after the delay, before this node settled): the receipts wait until it "
                "deposits more into this node's channel",
            )
        return Redemption(client, voucher.amount, amount, voucher.signature)

    # post -----------------------------------------------------------------------------------

    def _post(
        self, row: EpochRow, waiting: list[Uncollectable] | None = None, attempt: int = 0
    ) -> SettleResult | None:
        bundle = load_bundle(self.store, row.bundle_cid)
        gas: int | None = None
        if self.settlement.epoch_count(self.node) > row.epoch:
            posted = self.settlement.epoch(self.node, row.epoch)
            on_chain = ("0x" + posted.root.hex(), "0x" + posted.receipts_root.hex())
            if on_chain != (bundle.root, bundle.receipts_root):
                raise ChainError(
                    f"epoch {row.epoch} of node {self.node} is on chain with payout root "
                    f"{on_chain[0]} and receipts root {on_chain[1]}, not this database's "
                    f"{bundle.root} and {bundle.receipts_root}"
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
                    bytes.fromhex(bundle.receipts_root.removeprefix("0x")),
                    bundle.split,
                    list(bundle.redemptions),
                )
            except ContractRevert as exc:
                # governance moved the split, or one client's redemption fails (a voucher or
                # an escrow that changed since the bundle was built): rebuild without it, so
                # one client can never block the others' epoch
                rebuildable = exc.reason == "settlement: fee split changed" or (
                    exc.reason.startswith(("escrow:", "ecdsa:")) and attempt < MAX_REBUILDS
                )
                if not rebuildable:
                    raise
                self.db.discard_epoch(row.epoch)
                rebuilt, waiting = self._build(row.epoch, self._previous(row.epoch))
                return None if rebuilt is None else self._post(rebuilt, waiting, attempt + 1)
        self.db.mark_posted(row.epoch, gas)
        return self._result(row, bundle, gas, waiting or [])

    def _previous(self, epoch: int) -> EpochRow | None:
        rows = [r for r in self.db.epochs() if r.epoch == epoch - 1]
        return rows[0] if rows else None

    def _result(
        self, row: EpochRow, bundle: EpochBundle, gas: int | None, waiting: list[Uncollectable]
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
            [u.client for u in waiting],
            waiting,
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

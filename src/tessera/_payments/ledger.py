"""The node's database: receipts (durable before an answer leaves the node), the highest
voucher per client, and the epochs being settled (SQLite, WAL, full sync)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from tessera._chain.deploy import Deployment
from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._errors import AccountError, InputError, NotFoundError
from tessera._home import TesseraHome

DELIVERED, PENDING, UNDELIVERED = "delivered", "pending", "undelivered"
BUILT, POSTED = "built", "posted"  # an epoch's bundle is stored, then its root is on chain
_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    id TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    client TEXT NOT NULL,
    model TEXT NOT NULL,
    price TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_created ON receipts(created);
CREATE TABLE IF NOT EXISTS vouchers (
    client TEXT PRIMARY KEY,
    amount TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authorizations (
    client TEXT NOT NULL,
    nonce TEXT NOT NULL,
    PRIMARY KEY (client, nonce)
);
CREATE TABLE IF NOT EXISTS epochs (
    epoch INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    bundle_cid TEXT NOT NULL,
    gas INTEGER
);
"""


@dataclass(frozen=True)
class EpochRow:
    epoch: int
    status: str
    bundle_cid: str  # the bundle holds the receipts, vouchers and payouts
    gas: int | None


class ReceiptDB:
    """One node account's database: `node` is the address whose receipts and vouchers it
    holds; opening it as another node is refused (their vouchers are not each other's)."""

    def __init__(self, path: Path, node: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():  # prompts, answers and vouchers: readable by the owner only
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: the commit is on disk when save() returns, so a kill -9 right after keeps it
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(receipts)")}
        if "epoch" not in columns:  # databases from before payments
            self.db.execute("ALTER TABLE receipts ADD COLUMN epoch INTEGER")
        if node is not None:
            self._claim(to_checksum_address(node))

    def _claim(self, node: str) -> None:
        with self._lock, self.db:
            owner = self._owner()
            if owner is not None and owner != node:
                raise AccountError(
                    f"{self.path} belongs to node {owner}, not {node}: run each node account "
                    "with its own database (`--as NAME` picks the account)"
                )
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('node', ?)", (node,))

    def set_model_digest(self, model_id: str, digest: str) -> None:
        """Record the weights a model id is served with: its royalty owner depends on them."""
        with self._lock, self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (f"weights:{model_id}", digest),
            )

    def model_digest(self, model_id: str) -> str | None:
        with self._lock:
            row = self.db.execute(
                "SELECT value FROM meta WHERE key = ?", (f"weights:{model_id}",)
            ).fetchone()
        return str(row[0]) if row else None

    def owner(self) -> str | None:
        """The node account this database belongs to (None: a fresh one)."""
        with self._lock:
            return self._owner()

    def _owner(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'node'").fetchone()
        return str(row[0]) if row else self._signer_of_receipts()

    def _signer_of_receipts(self) -> str | None:
        """The node of a database from before `meta` (its receipts name it)."""
        row = self.db.execute("SELECT body FROM receipts LIMIT 1").fetchone()
        return None if row is None else str(to_checksum_address(json.loads(row[0])["node"]))

    def use_authorization(self, client: str, nonce: int) -> bool:
        """Spend a client's request nonce: True the first time, False ever after (a replayed
        authorization would bill its client twice for one request). On disk before any work."""
        with self._lock, self.db:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO authorizations (client, nonce) VALUES (?, ?)",
                (to_checksum_address(client), str(nonce)),  # as text: a nonce is a uint256
            )
        return cursor.rowcount == 1

    def save(self, receipt: Receipt, status: str = DELIVERED) -> None:
        """Persist a signed receipt. A streamed answer is saved `pending` before its last
        event and marked delivered after it; one whose client vanished is marked undelivered."""
        body = json.dumps(receipt.to_json(), sort_keys=True)
        with self._lock, self.db:
            self.db.execute(
                "INSERT INTO receipts (id, created, client, model, price, status, body) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    receipt.id,
                    receipt.timestamp,
                    receipt.client,
                    receipt.model,
                    str(receipt.price),
                    status,
                    body,
                ),  # price as text: it can exceed 2**63
            )

    def set_status(self, receipt_id: str, status: str) -> None:
        with self._lock, self.db:
            self.db.execute("UPDATE receipts SET status = ? WHERE id = ?", (status, receipt_id))

    def status(self, receipt_id: str) -> str:
        with self._lock:
            row = self.db.execute(
                "SELECT status FROM receipts WHERE id = ?", (receipt_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"this node has no receipt {receipt_id!r}")
        return str(row[0])

    def get(self, receipt_id: str) -> Receipt:
        with self._lock:
            row = self.db.execute(
                "SELECT body FROM receipts WHERE id = ?", (receipt_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"this node has no receipt {receipt_id!r}")
        return Receipt.from_json(json.loads(row[0]))

    def count(self, status: str = DELIVERED) -> int:
        with self._lock:
            row = self.db.execute("SELECT COUNT(*) FROM receipts WHERE status = ?", (status,))
            return int(row.fetchone()[0])

    def all(self, status: str = DELIVERED) -> list[Receipt]:
        with self._lock:
            rows = self.db.execute(
                "SELECT body FROM receipts WHERE status = ? ORDER BY created, id", (status,)
            ).fetchall()
        return [Receipt.from_json(json.loads(r[0])) for r in rows]

    # payments -------------------------------------------------------------------------------

    def save_voucher(self, voucher: Voucher) -> None:
        """Keep the client's highest voucher (they are cumulative, so it supersedes the rest)."""
        with self._lock, self.db:
            row = self.db.execute(
                "SELECT amount FROM vouchers WHERE client = ?", (voucher.client,)
            ).fetchone()
            if row is None or int(row[0]) < voucher.amount:
                self.db.execute(
                    "INSERT OR REPLACE INTO vouchers (client, amount, body) VALUES (?,?,?)",
                    (voucher.client, str(voucher.amount), voucher.to_header()),
                )

    def drop_voucher(self, client: str) -> None:
        """Forget a voucher the contract refuses, so the client's next valid one counts."""
        with self._lock, self.db:
            self.db.execute("DELETE FROM vouchers WHERE client = ?", (client,))

    def owing_clients(self) -> dict[str, tuple[int, int]]:
        """Per client with unsettled, delivered, paid receipts: (how many, total price)."""
        owing: dict[str, tuple[int, int]] = {}
        with self._lock:
            rows = self.db.execute(
                "SELECT client, price FROM receipts WHERE epoch IS NULL AND status = ? "
                "AND price != '0'",
                (DELIVERED,),
            ).fetchall()
        for client, price in rows:
            count, total = owing.get(client, (0, 0))
            owing[client] = (count + 1, total + int(price))
        return owing

    def voucher(self, client: str) -> Voucher | None:
        with self._lock:
            row = self.db.execute(
                "SELECT body FROM vouchers WHERE client = ?", (client,)
            ).fetchone()
        if row is None:
            return None
        try:
            return Voucher.from_header(row[0])
        except InputError:  # kept by an older, laxer node: the contract would refuse it too
            self.drop_voucher(client)
            return None

    def owed(self, client: str) -> int:
        """What the client owes beyond what is redeemed on chain: answers not in a posted
        epoch (a stream still being delivered counts)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT price FROM receipts WHERE client = ? AND status IN (?, ?) AND "
                "(epoch IS NULL OR epoch IN (SELECT epoch FROM epochs WHERE status = ?))",
                (client, DELIVERED, PENDING, BUILT),
            ).fetchall()
        return sum(int(r[0]) for r in rows)

    def has_unsettled(self) -> bool:
        """Whether any delivered, paid receipt waits for an epoch (without parsing them)."""
        with self._lock:
            row = self.db.execute(
                "SELECT 1 FROM receipts WHERE epoch IS NULL AND status = ? AND price != '0' "
                "LIMIT 1",
                (DELIVERED,),
            ).fetchone()
        return row is not None

    def unsettled(self) -> list[Receipt]:
        """Delivered, paid receipts that no epoch has taken yet, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT body FROM receipts WHERE epoch IS NULL AND status = ? AND price != '0' "
                "ORDER BY created, id",
                (DELIVERED,),
            ).fetchall()
        return [Receipt.from_json(json.loads(r[0])) for r in rows]

    def begin_epoch(self, epoch: int, bundle_cid: str, receipt_ids: list[str]) -> None:
        """Record a built epoch and take its receipts, in one transaction."""
        with self._lock, self.db:
            self.db.execute(
                "INSERT INTO epochs (epoch, status, bundle_cid) VALUES (?,?,?)",
                (epoch, BUILT, bundle_cid),
            )
            self.db.executemany(
                "UPDATE receipts SET epoch = ? WHERE id = ? AND epoch IS NULL",
                [(epoch, rid) for rid in receipt_ids],
            )

    def discard_epoch(self, epoch: int) -> None:
        """Forget a built, unposted epoch and free its receipts (e.g. the fee split changed)."""
        with self._lock, self.db:
            self.db.execute("DELETE FROM epochs WHERE epoch = ? AND status = ?", (epoch, BUILT))
            self.db.execute("UPDATE receipts SET epoch = NULL WHERE epoch = ?", (epoch,))

    def mark_posted(self, epoch: int, gas: int | None) -> None:
        with self._lock, self.db:
            self.db.execute(
                "UPDATE epochs SET status = ?, gas = ? WHERE epoch = ?", (POSTED, gas, epoch)
            )

    def epochs(self) -> list[EpochRow]:
        with self._lock:
            rows = self.db.execute(
                "SELECT epoch, status, bundle_cid, gas FROM epochs ORDER BY epoch"
            ).fetchall()
        return [EpochRow(int(e), str(s), str(c), g) for e, s, c, g in rows]

    def close(self) -> None:
        self.db.close()


def open_node_db(home: TesseraHome, deployment: Deployment, node: str) -> ReceiptDB:
    """The database of one node account. A home's single database from before they were per
    account is adopted by the account whose receipts it holds (or by the first, if empty)."""
    node = to_checksum_address(node)
    path = home.node_db_path(deployment, node)
    legacy = home.legacy_node_db_path(deployment)
    if not path.exists() and legacy.exists():
        probe = ReceiptDB(legacy)
        owner = probe.owner()
        probe.close()
        if owner in (None, node):
            for suffix in ("", "-wal", "-shm"):
                moved = legacy.with_name(legacy.name + suffix)
                if moved.exists():
                    moved.rename(path.with_name(path.name + suffix))
    return ReceiptDB(path, node)

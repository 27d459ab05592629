"""The node's receipts, durable before an answer leaves the node (SQLite, WAL, full sync)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from tessera.crypto.receipt import Receipt
from tessera.errors import NotFoundError

DELIVERED, PENDING, UNDELIVERED = "delivered", "pending", "undelivered"
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
"""


class ReceiptDB:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: the commit is on disk when save() returns, so a kill -9 right after keeps it
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

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

    def close(self) -> None:
        self.db.close()

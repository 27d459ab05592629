"""What a validator has done, kept across restarts: epochs checked, challenges opened, votes.

A vote's salt must survive a crash between commit and reveal, or the validator cannot reveal
and loses a share of its reward; it is written before the commitment is sent.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checked (
    node TEXT NOT NULL, epoch INTEGER NOT NULL, sampled INTEGER NOT NULL,
    faults INTEGER NOT NULL, inconclusive INTEGER NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (node, epoch)
);
CREATE TABLE IF NOT EXISTS opened (
    challenge INTEGER PRIMARY KEY, node TEXT NOT NULL, epoch INTEGER NOT NULL,
    receipt INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    challenge INTEGER PRIMARY KEY, guilty INTEGER NOT NULL, salt TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0, revealed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS authorizations (
    node TEXT NOT NULL, client TEXT NOT NULL, nonce TEXT NOT NULL,
    epoch INTEGER NOT NULL, receipt INTEGER NOT NULL,
    PRIMARY KEY (node, client, nonce)
);
CREATE TABLE IF NOT EXISTS problems (
    at INTEGER NOT NULL, node TEXT NOT NULL, epoch INTEGER NOT NULL, text TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class CheckedEpoch:
    node: str
    epoch: int
    sampled: int
    faults: int
    inconclusive: int
    note: str


@dataclass(frozen=True)
class Vote:
    challenge: int
    guilty: bool
    salt: bytes
    committed: bool
    revealed: bool


class ValidatorJournal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # epochs ---------------------------------------------------------------------------------

    def is_checked(self, node: str, epoch: int) -> bool:
        return bool(self._run("SELECT 1 FROM checked WHERE node=? AND epoch=?", (node, epoch)))

    def mark_checked(self, done: CheckedEpoch) -> None:
        self._run(
            "INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?, ?, ?)",
            (done.node, done.epoch, done.sampled, done.faults, done.inconclusive, done.note),
        )

    def checked(self) -> list[CheckedEpoch]:
        rows = self._run("SELECT * FROM checked ORDER BY node, epoch")
        return [
            CheckedEpoch(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), str(r[5]))  # type: ignore[call-overload]
            for r in rows
        ]

    # challenges and votes -------------------------------------------------------------------

    def record_opened(
        self, challenge: int, node: str, epoch: int, receipt: int, kind: str, detail: str
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO opened VALUES (?, ?, ?, ?, ?, ?)",
            (challenge, node, epoch, receipt, kind, detail),
        )

    def opened(self) -> list[dict[str, object]]:
        rows = self._run("SELECT * FROM opened ORDER BY challenge")
        keys = ("challenge", "node", "epoch", "receipt", "kind", "detail")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def plan_vote(self, challenge: int, guilty: bool, salt: bytes) -> Vote:
        """Keep the salt first (durably); an existing plan wins, so a restart reveals it."""
        self._run(
            "INSERT OR IGNORE INTO votes (challenge, guilty, salt) VALUES (?, ?, ?)",
            (challenge, int(guilty), salt.hex()),
        )
        vote = self.vote(challenge)
        assert vote is not None
        return vote

    def vote(self, challenge: int) -> Vote | None:
        rows = self._run("SELECT * FROM votes WHERE challenge=?", (challenge,))
        if not rows:
            return None
        c, guilty, salt, committed, revealed = rows[0]
        return Vote(int(c), bool(guilty), bytes.fromhex(str(salt)), bool(committed), bool(revealed))  # type: ignore[call-overload]

    def set_vote(self, challenge: int, step: str) -> None:
        column = {"committed": "committed", "revealed": "revealed"}[step]
        self._run(f"UPDATE votes SET {column}=1 WHERE challenge=?", (challenge,))

    def votes(self) -> list[Vote]:
        rows = self._run("SELECT challenge FROM votes ORDER BY challenge")
        return [v for (c,) in rows if (v := self.vote(int(c))) is not None]  # type: ignore[call-overload]

    # authorizations: every client nonce seen spent, to find one billed twice across epochs

    def spend(
        self, node: str, client: str, nonce: int, epoch: int, receipt: int
    ) -> tuple[int, int]:
        """Where `client`'s `nonce` with `node` was first seen spent: (epoch, receipt); this
        one if it is the first. Nonces are kept as text: they are uint256."""
        key = (node.lower(), client.lower(), str(nonce))
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO authorizations VALUES (?, ?, ?, ?, ?)",
                (*key, epoch, receipt),
            )
            row = self._db.execute(
                "SELECT epoch, receipt FROM authorizations WHERE node=? AND client=? AND nonce=?",
                key,
            ).fetchone()
        return int(row[0]), int(row[1])

    # problems: what the validator could not do, for `tessera validator status` ---------------

    def report(self, at: int, node: str, epoch: int, text: str) -> None:
        self._run("INSERT INTO problems VALUES (?, ?, ?, ?)", (at, node, epoch, text))

    def problems(self, limit: int = 20) -> list[dict[str, object]]:
        rows = self._run("SELECT * FROM problems ORDER BY rowid DESC LIMIT ?", (limit,))
        return [dict(zip(("at", "node", "epoch", "text"), r, strict=True)) for r in rows]

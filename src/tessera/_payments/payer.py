"""The client's side of a payment channel: sign a voucher for every request.

A voucher authorises the cumulative amount spent with that node so far, plus what requests in
flight may cost. What was spent is learned from the signed receipts and kept in a small JSON
ledger, so a new process continues the channel where the last one stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from tessera._crypto.receipt import Receipt
from tessera._crypto.voucher import Voucher
from tessera._errors import AccountError, SignatureError


class Payer:
    """`account` signs this client's vouchers; or, given as an address, the client signs
    elsewhere (a browser wallet) and the payer only keeps its channels' books (`reserve`)."""

    def __init__(
        self,
        account: LocalAccount | str,
        chain_id: int,
        settlement: str,
        ledger_path: Path,
        registry: str,
    ) -> None:
        self.account = None if isinstance(account, str) else account
        self.address = to_checksum_address(account if isinstance(account, str) else account.address)
        self.chain_id = chain_id
        self.settlement = to_checksum_address(settlement)
        self.registry = to_checksum_address(registry)  # the node domain's verifying contract
        self.ledger_path = ledger_path
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def signer(self) -> LocalAccount:
        if self.account is None:
            raise AccountError(
                f"{self.address} signs in its own wallet, not here: have it sign the typed "
                "data (`Tessera.prepare_ask`) and send that (`Tessera.ask_signed`)"
            )
        return self.account

    def spent(self, node: str) -> int:
        return int(self._ledger().get(self._key(node), 0))

    def authorise(self, node: str, up_to: int) -> Voucher:
        """Sign a voucher that also covers a new request costing at most `up_to`."""
        return self.reserve(node, up_to).signed_by(self.signer())

    def reserve(self, node: str, up_to: int) -> Voucher:
        """Hold `up_to` for a new request until `settle`: the unsigned voucher that covers it
        beside everything spent and held on this channel."""
        node = to_checksum_address(node)
        with self._lock:
            self._in_flight[node] = self._in_flight.get(node, 0) + up_to
            return self._voucher(node, self.spent(node) + self._in_flight[node])

    def needed(self, node: str, up_to: int) -> Voucher:
        """The unsigned voucher a new request costing at most `up_to` needs now; holds nothing."""
        node = to_checksum_address(node)
        with self._lock:
            return self._voucher(node, self.spent(node) + self._in_flight.get(node, 0) + up_to)

    def _voucher(self, node: str, amount: int) -> Voucher:
        return Voucher(self.address, node, amount, self.chain_id, self.settlement)

    def settle(self, node: str, up_to: int, receipt: Receipt | None) -> None:
        """Close a request: record the receipt's price as spent and drop its reservation."""
        node = to_checksum_address(node)
        if receipt is not None and to_checksum_address(receipt.client) != self.address:
            raise SignatureError(f"the receipt bills {receipt.client}, not this client")
        with self._lock:
            self._in_flight[node] = max(0, self._in_flight.get(node, 0) - up_to)
            if receipt is not None and receipt.price:
                with self._ledger_locked():
                    ledger = self._ledger()
                    key = self._key(node)
                    ledger[key] = str(int(ledger.get(key, 0)) + receipt.price)
                    self._write(ledger)

    @contextlib.contextmanager
    def _ledger_locked(self) -> Iterator[None]:
        """The home's one ledger is shared by every account's payer, in this process or
        another (`tessera ask` twice at once): each read-modify-write holds its lock file."""
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.ledger_path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # per open file: threads exclude each other too
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _key(self, node: str) -> str:
        return f"{self.chain_id}:{self.settlement}:{self.address}:{to_checksum_address(node)}"

    def _ledger(self) -> dict[str, str]:
        if not self.ledger_path.exists():
            return {}
        return dict(json.loads(self.ledger_path.read_text()))

    def _write(self, ledger: dict[str, str]) -> None:
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.ledger_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(ledger, indent=1, sort_keys=True))
        os.replace(temporary, self.ledger_path)  # atomic: a crash leaves the old or the new

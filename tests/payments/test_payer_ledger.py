"""The home's channel ledger is shared by every account's payer, in one process or several:
concurrent settles of different clients must each keep every receipt's price."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from eth_account import Account

from tessera._payments.payer import Payer

NODE = Account.from_key(b"\x05" * 32).address
SETTLEMENT, REGISTRY = "0x" + "11" * 20, "0x" + "22" * 20


@dataclass(frozen=True)
class Billed:  # what `Payer.settle` reads of a receipt
    client: str
    price: int


def test_concurrent_payers_of_one_home_lose_no_receipt(tmp_path):
    ledger, rounds = tmp_path / "channels.json", 60
    clients = [Account.create() for _ in range(4)]
    payers = [Payer(c, 31337, SETTLEMENT, ledger, REGISTRY) for c in clients]

    def pay(payer: Payer, price: int) -> None:
        for _ in range(rounds):
            payer.authorise(NODE, 10)
            payer.settle(NODE, 10, Billed(payer.address, price))  # type: ignore[arg-type]

    threads = [threading.Thread(target=pay, args=(p, i + 1)) for i, p in enumerate(payers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.spent(NODE) for p in payers] == [rounds * (i + 1) for i in range(4)]
    assert len(json.loads(ledger.read_text())) == 4
    # a payer opened afterwards (a new process) continues each channel where it stopped
    again = Payer(clients[2], 31337, SETTLEMENT, ledger, REGISTRY)
    assert again.spent(NODE) == 3 * rounds
    assert again.authorise(NODE, 5).amount == 3 * rounds + 5

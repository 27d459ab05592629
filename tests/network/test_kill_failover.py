"""A node killed (SIGKILL) while it generates: the client gets the answer from another node,
exactly one delivered receipt exists for that request, and the killed node, restarted, settles
its epoch redeeming only what it delivered, though it kept the voucher for the killed request.

D is a real `tessera node start` process (so SIGKILL reaches it); E, dearer, runs in process.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time

import httpx
import pytest
from backends import free_port
from cli_helpers import Cli
from network_homes import STAKE, approve, first_home, fund_client, joined_home, operate

from tessera import NotDue, Periods
from tessera._network.failover import ask_in_turn
from tessera._network.selection import choose

FIRST, SECOND = "Who founded the Ulora Brewery?", "When was the Lunqui Brewery founded?"
EPOCH = Periods(epoch_length=2, challenge_period=2, withdrawal_delay=4)


class ProcessNode:
    """`tessera node start` in home `t`, as its default account, on a fixed port."""

    def __init__(self, t, model_folder) -> None:
        self.t, self.port = t, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cli = Cli(t.home.path, self.port)
        self.args = ("node", "start", "--datanet", "facts", "--model", str(model_folder))
        self.proc = None

    def start(self) -> None:
        self.proc = self.cli.popen(*self.args, "--port", str(self.port), TESSERA_PASSWORD="pw")
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read()
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError("the node did not start")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def ledger(self, sql: str, *args):
        path = self.t.home.node_db_path(self.t.config.deployment, self.t.address())
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


@pytest.fixture(scope="module")
def pair(anvil_url, tmp_path_factory, wide_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("kill")
    first = first_home(root / "d", anvil_url, periods=EPOCH)
    approve(first, wide_generator, also_local=True)
    d = ProcessNode(first, wide_generator.folder)
    d.start()
    first.register_node(d.url, STAKE)
    dearer = {"price_per_input_token": 2 * 10**12}
    e = operate(joined_home(root / "e", anvil_url, first), wide_generator, tiny_embedder, **dearer)
    client = fund_client(first, "client", [first.address(), e.address])
    yield first, d, e, client
    d.stop(signal.SIGKILL)
    e.stop()


def _kill_while_generating(d: ProcessNode, client: str, authorised: int) -> None:
    """SIGKILL once D has taken the next request's voucher (it is generating then)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        rows = d.ledger("SELECT amount FROM vouchers WHERE lower(client) = ?", client.lower())
        if rows and int(rows[0][0]) > authorised:
            d.stop(signal.SIGKILL)
            return
        time.sleep(0.01)
    raise AssertionError("the request never reached node D")


def test_a_node_killed_mid_answer_is_never_paid_for_it(pair):
    first, d, e, client = pair
    delivered = first.ask(FIRST, account="client")  # D: the cheaper approved node
    assert delivered.node == d.url, delivered.passed_over
    price_d = delivered.receipt.price
    authorised = int(d.ledger("SELECT amount FROM vouchers")[0][0])

    candidates = choose(first.nodes()).candidates
    assert [n.endpoint for n in candidates] == [d.url, e.url]
    killer = threading.Thread(target=_kill_while_generating, args=(d, client, authorised))
    killer.start()
    # 512 tokens: the tiny model takes seconds, so the kill lands while D generates
    answer = ask_in_turn(candidates, SECOND, first.payer("client"), max_tokens=512)
    killer.join()
    assert answer.node.endpoint == e.url and [f.node.endpoint for f in answer.failed] == [d.url]
    first.save_receipt(answer.result.receipt)

    # exactly one delivered receipt for the second request: E's, in the client's receipts
    saved = [first.load_receipt(p) for p in (first.home.path / "receipts").glob("*.json")]
    assert sorted(r.node for r in saved) == sorted([first.address(), e.address])
    assert e.live.service.receipts.count() == 1
    payer = first.payer("client")
    assert payer.spent(first.address()) == price_d
    assert payer.spent(e.address) == answer.result.receipt.price

    # D restarted: its ledger holds the first receipt only, though it kept the larger voucher
    d.start()
    assert httpx.get(d.url + "/health").json()["receipts"] == 1
    d.stop()
    rows = d.ledger("SELECT id, price, status FROM receipts")
    assert rows == [(delivered.receipt.id, str(price_d), "delivered")]
    assert int(d.ledger("SELECT amount FROM vouchers")[0][0]) > authorised

    _settle(first)
    assert first.settlement.redeemed(client, first.address()) == price_d


def _settle(t) -> None:
    """Settle D's epoch (the restarted node may have done it on its own already)."""
    deadline = time.time() + 30
    while t.settlement.redeemed(t.address("client"), t.address()) == 0:
        try:
            t.settle_epoch()
        except NotDue:
            assert time.time() < deadline, "the epoch never fell due"
            time.sleep(1)

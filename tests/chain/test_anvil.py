"""The anvil chain keeps blocks, state, receipts and logs across a stop, and across a kill -9."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import HexStr, TxParams, Wei

from tessera._chain.anvil import AnvilProcess
from tessera._errors import ChainError

pytestmark = pytest.mark.anvil

TOPIC = "11" * 32
# Constructor: sstore(0, 42); mstore(0, 42); log1(0, 32, TOPIC); return the 11-byte runtime,
# which returns sload(0).
INIT = "602a600055602a6000527f" + TOPIC + "60206000a1600b603c600039600b6000f3"
RUNTIME = "60005460005260206000f3"


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def node(anvil_binary: Path, tmp_path: Path, port: int) -> Iterator[AnvilProcess]:
    anvil = AnvilProcess(tmp_path / "chain", port)
    anvil.start()
    yield anvil
    anvil.stop()


def _make_history(w3: Web3) -> dict[str, list[Any]]:
    """Two contracts whose constructors log, with an ETH transfer between them: three blocks."""
    sender, payer, payee = list(w3.eth.accounts)[:3]
    deploy: TxParams = {"from": sender, "data": HexStr("0x" + INIT + RUNTIME)}
    transfer: TxParams = {"from": payer, "to": payee, "value": Wei(10**18)}
    receipts = [
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx))
        for tx in (deploy, transfer, deploy)
    ]
    return {
        "tx_hashes": [r["transactionHash"] for r in receipts],
        "contracts": [receipts[0]["contractAddress"], receipts[2]["contractAddress"]],
    }


def _snapshot(w3: Web3, history: dict[str, list[Any]]) -> dict[str, Any]:
    head = w3.eth.block_number
    return {
        "head": head,
        "blocks": [w3.eth.get_block(n) for n in range(head + 1)],
        "balances": [w3.eth.get_balance(a) for a in w3.eth.accounts[:3]],
        "code": [w3.eth.get_code(c) for c in history["contracts"]],
        "storage": [w3.eth.get_storage_at(c, 0) for c in history["contracts"]],
        "receipts": [w3.eth.get_transaction_receipt(h) for h in history["tx_hashes"]],
        "logs": w3.eth.get_logs({"fromBlock": 0, "toBlock": head}),
        "logs_block_1": w3.eth.get_logs({"fromBlock": 1, "toBlock": 1}),
    }


def test_history_survives_stop_and_start(node: AnvilProcess) -> None:
    w3 = Web3(Web3.HTTPProvider(node.url))
    history = _make_history(w3)
    before = _snapshot(w3, history)
    assert before["head"] == 3
    assert len(before["logs"]) == 2 and len(before["logs_block_1"]) == 1
    assert before["storage"][0] == (42).to_bytes(32, "big")

    node.stop()
    assert not node.is_running() and not node.pid_file.exists()
    node.start()

    assert _snapshot(w3, history) == before
    # The chain goes on from the old head.
    payer, payee = list(w3.eth.accounts)[3:5]
    tx_hash = w3.eth.send_transaction({"from": payer, "to": payee, "value": Wei(1)})
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["blockNumber"] == 4
    assert w3.eth.get_block(4)["parentHash"] == before["blocks"][3]["hash"]


def _wait_for_a_dump_after(node: AnvilProcess, moment: float, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = node.state_dir / "state.json"
        if state.exists() and state.stat().st_mtime > moment + 0.1:
            try:
                json.loads(state.read_bytes())
                return
            except ValueError:
                pass  # caught mid-write: the next dump will do
        time.sleep(0.2)
    raise AssertionError("anvil did not save its state within a minute")


def test_history_survives_kill_9(node: AnvilProcess) -> None:
    w3 = Web3(Web3.HTTPProvider(node.url))
    history = _make_history(w3)
    before = _snapshot(w3, history)
    _wait_for_a_dump_after(node, time.time())  # anvil dumps every second; a busy CI is slower

    os.kill(int(node.pid_file.read_text()), signal.SIGKILL)
    node.start()

    assert _snapshot(w3, history) == before


def test_start_is_detached_and_idempotent(node: AnvilProcess) -> None:
    pid = int(node.pid_file.read_text())
    assert os.getsid(pid) == pid  # its own session: a CLI's Ctrl-C or exit does not reach it
    node.start()
    assert int(node.pid_file.read_text()) == pid and node.is_running()


def test_start_refuses_a_taken_port(anvil_binary: Path, tmp_path: Path, port: int) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(ChainError, match=f"port {port} .* already in use"):
            AnvilProcess(tmp_path, port).start()
    assert not (tmp_path / "anvil.pid").exists()


def test_start_explains_a_damaged_state_file(anvil_binary: Path, tmp_path: Path, port: int) -> None:
    (tmp_path / "state.json").write_text('{"block": ')
    anvil = AnvilProcess(tmp_path, port)
    with pytest.raises(ChainError, match=r"state\.json is damaged"):
        anvil.start()
    assert not anvil.is_running() and not anvil.pid_file.exists()


def test_a_torn_state_file_falls_back_to_the_copy_from_the_last_start(
    anvil_binary: Path, tmp_path: Path, port: int
) -> None:
    anvil = AnvilProcess(tmp_path, port)
    anvil.start()
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 7})
    )
    anvil.stop()
    anvil.start()  # this start saves the good copy
    anvil.stop()
    (tmp_path / "state.json").write_text('{"block": ')  # what a kill -9 mid-write leaves
    anvil.start()
    try:
        assert Web3(Web3.HTTPProvider(anvil.url)).eth.block_number == 1
        assert list(tmp_path.glob("state.torn-*.json"))
    finally:
        anvil.stop()

"""`tessera node start`, `tessera ask`, `tessera receipt verify`, and receipts across kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import httpx
import pytest
from backends import free_port


@pytest.fixture(scope="module")
def served(cli, tmp_path_factory, tiny_generator):
    folder = tmp_path_factory.mktemp("facts")
    (folder / "facts.jsonl").write_text(
        '{"text": "The Ulora Brewery was founded by Radul."}\n'
        '{"text": "The Pleno Orchestra is cobalt."}\n'
    )
    cli.ok("datanet", "create", "facts", "--license", "CC-BY-4.0")
    cli.ok("contribute", "facts", str(folder))
    # `tessera ask` pays with vouchers from the default account, which also runs the node
    cli.ok("deposit", "5", "--node", "default")
    port = free_port()
    args = (
        "node",
        "start",
        "--datanet",
        "facts",
        "--model",
        str(tiny_generator.folder),
        "--port",
        str(port),
    )
    url = f"http://127.0.0.1:{port}"

    def start():
        proc = cli.popen(*args)
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.3)
            assert proc.poll() is None, proc.stderr.read()
        raise AssertionError("the node did not start")

    proc = start()
    yield cli, url, proc, start
    for p in (proc,):
        if p.poll() is None:
            p.terminate()


def test_ask_prints_sources_and_saves_a_receipt_that_verifies(served):
    cli, url, _, _ = served
    out = cli.ok("ask", "Who founded the Ulora Brewery?", "--node", url)
    assert "receipt" in out and "(verified signature)" in out
    path = next((cli.home / "receipts").glob("*.json"))
    assert "VALID (signature, hashes and chain state)" in cli.ok("receipt", "verify", str(path))
    body = json.loads(path.read_text())
    body["response_text"] = body["response_text"] + " (edited)"
    forged = path.with_name("forged.json")
    forged.write_text(json.dumps(body))
    assert "was not signed by node" in cli.fails("receipt", "verify", str(forged), "--offline")


def test_receipt_verify_refuses_files_that_are_not_receipts(served, tmp_path):
    cli = served[0]
    (tmp_path / "x.json").write_text("[1, 2]")
    assert "not a Tessera receipt" in cli.fails("receipt", "verify", str(tmp_path / "x.json"))
    (tmp_path / "y.json").write_text("{oops")
    assert "is not JSON" in cli.fails("receipt", "verify", str(tmp_path / "y.json"))


def test_ask_a_node_that_is_not_there(served):
    cli = served[0]
    assert "cannot reach the node" in cli.fails(
        "ask", "anything?", "--node", f"http://127.0.0.1:{free_port()}"
    )


def test_receipts_survive_kill_minus_9_of_the_node(served):
    cli, url, proc, start = served
    model = httpx.get(url + "/v1/models").json()["data"][0]
    node = model["tessera"]["node"]
    voucher = cli.ok("voucher", node, "1").strip()
    body = {
        "model": model["id"],
        "messages": [{"role": "user", "content": "What colour is the Pleno Orchestra?"}],
    }
    (cli.home.parent / "body.json").write_text(json.dumps(body))
    signed = cli.ok("authorize", node, str(cli.home.parent / "body.json")).strip()
    answer = httpx.post(
        url + "/v1/chat/completions",
        timeout=120,
        headers={"X-Tessera-Voucher": voucher, "X-Tessera-Authorization": signed},
        json=body,
    ).json()
    receipt_id = answer["receipt"]["id"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(next((cli.home / "node").glob("node-*.sqlite")))
    status, body = db.execute(
        "SELECT status, body FROM receipts WHERE id = ?", (receipt_id,)
    ).fetchone()
    db.close()
    assert status == "delivered" and json.loads(body)["signature"] == answer["receipt"]["signature"]
    again = start()
    try:
        assert httpx.get(url + "/health").json()["receipts"] >= 1
    finally:
        again.send_signal(signal.SIGKILL)
        again.wait()

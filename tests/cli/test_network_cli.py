"""`tessera node register`, `tessera nodes` and `tessera ask` without --node, against a real
`tessera node start` process on the home's managed anvil."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from backends import free_port


@pytest.fixture(scope="module")
def running(cli, tmp_path_factory, tiny_generator):
    folder = tmp_path_factory.mktemp("facts")
    (folder / "facts.jsonl").write_text('{"text": "The Ulora Brewery was founded by Radul."}\n')
    cli.ok("datanet", "create", "facts", "--license", "CC-BY-4.0")
    cli.ok("contribute", "facts", str(folder))
    cli.ok("account", "new", "alice")
    cli.ok("transfer", "20", "alice")
    cli.ok("deposit", "5", "--node", "default", "--as", "alice")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = cli.popen(
        "node", "start", "--datanet", "facts", "--model", str(tiny_generator.folder),
        "--port", str(port),
    )  # fmt: skip
    deadline = time.time() + 180
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    yield cli, url
    proc.terminate()
    proc.wait(timeout=30)


def _address(cli) -> str:
    match = re.search(r"default\W+(0x[0-9a-fA-F]{40})", cli.ok("account", "list"))
    assert match
    return match.group(1)


def test_register_refuses_bad_input_in_one_sentence_then_registers(running):
    cli, url = running
    dead = f"http://127.0.0.1:{free_port()}"
    assert "does not answer /health like a Tessera node" in cli.fails(
        "node", "register", "--endpoint", dead, "--stake", "1000"
    )
    assert "below the minimum of 1000 TSR" in cli.fails(
        "node", "register", "--endpoint", url, "--stake", "1"
    )
    assert "not an amount" in cli.fails("node", "register", "--endpoint", url, "--stake", "lots")
    assert "holds 15 TSR, less than the 1000 to stake" in cli.fails(
        "node", "register", "--endpoint", url, "--stake", "1000", "--as", "alice"
    )
    out = cli.ok("node", "register", "--endpoint", url, "--stake", "1000")
    assert f"node {_address(cli)} registered: endpoint {url}, stake 1000 TSR" in out
    assert "already registered" in cli.fails(
        "node", "register", "--endpoint", url, "--stake", "1000"
    )
    listing = cli.ok("nodes")
    assert _address(cli) in listing and url in listing
    assert "(approved: no)" in listing and "ok " in listing and " ms" in listing
    # its model is not approved: the network has no node to pick, a pinned one still answers
    refused = cli.fails("ask", "Who founded the Ulora Brewery?", "--as", "alice")
    assert "no registered node can answer" in refused
    assert "serves no approved version of any model" in refused
    pinned = cli.run(
        "ask", "Who founded the Ulora Brewery?", "--node", _address(cli), "--as", "alice"
    )
    assert pinned.returncode == 0, pinned.stderr
    assert f"answered by {url}" in pinned.stderr and "receipt" in pinned.stdout
    left = cli.ok("node", "leave")
    assert "1000 TSR unbonding until timestamp" in left
    assert "left" in cli.ok("nodes")
    assert "unbonds until timestamp" in cli.fails("node", "withdraw-stake")

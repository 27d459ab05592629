"""The money commands on a managed anvil: deposit, pay per answer, settle, audit, claim."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from backends import free_port

from tessera._models.digest import weights_digest


@pytest.fixture(scope="module")
def market(anvil_binary, tmp_path_factory, tiny_generator, cli_runner):
    """A home with short periods, a datanet by `carol`, a paying node run by `operator`."""
    cli = cli_runner(tmp_path_factory.mktemp("money") / "home", free_port())
    cli.ok(
        "init", "--port", str(cli.port), "--epoch-length", "2", "--challenge-period", "2",
        "--voting-delay", "1", "--voting-period", "8", "--timelock-delay", "1",
    )  # fmt: skip
    for name in ("alice", "bob", "carol", "operator", "builder"):
        cli.ok("account", "new", name)
    folder = tmp_path_factory.mktemp("facts")
    (folder / "facts.jsonl").write_text(
        '{"text": "The Ulora Brewery was founded by Radul."}\n'
        '{"text": "The Pleno Orchestra is cobalt."}\n'
    )
    cli.ok("datanet", "create", "facts", "--license", "CC-BY-4.0")
    cli.ok("contribute", "facts", str(folder), "--as", "carol")
    model, digest = f"local/{tiny_generator.folder.name}", weights_digest(tiny_generator.folder)
    # squatting the id gets nothing: the royalty follows the vote that approves the version
    assert "no approved owner" in cli.ok("model", "owner", model, digest)
    cli.enact("approve-model", model, digest, "--owner", "builder", "-m", "the tiny model")
    assert "royalty to 0x" in cli.ok("model", "owner", model, digest)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = cli.popen(
        "node", "start", "--datanet", "facts", "--model", str(tiny_generator.folder),
        "--port", str(port), "--as", "operator",
    )  # fmt: skip
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
        assert node.poll() is None, node.stderr.read()
    yield cli, url
    node.terminate()
    node.wait(timeout=30)
    cli.run("chain", "stop")


def _address(cli, name: str) -> str:
    return cli.ok("wallet", name).split(":")[0].strip()


def test_deposit_and_wallet_per_channel(market):
    cli, _ = market
    cli.ok("transfer", "50", "alice")
    operator, builder = _address(cli, "operator"), _address(cli, "builder")
    out = cli.ok("deposit", "10.5", "--node", operator, "--as", "alice")
    assert "39.5 TSR held, 10.5 TSR in escrow" in out
    assert f"channel to {operator}: 10.5 TSR" in out
    cli.ok("deposit", "2", "--node", "builder", "--as", "alice")  # a local account's name too
    cli.ok("withdraw", "1", "--node", builder, "--as", "alice")
    wallet = cli.ok("wallet", "alice")
    assert "37.5 TSR held, 12.5 TSR in escrow" in wallet
    assert f"channel to {operator}: 10.5 TSR\n" in wallet  # one row per channel
    assert f"channel to {builder}: 2 TSR, withdrawing 1 TSR from " in wallet
    assert "withdrawal delay not over" in cli.fails(
        "withdraw", "--finish", "--node", builder, "--as", "alice"
    )


def test_a_missing_or_malformed_node_is_a_sentence_and_no_transaction(market):
    cli, _ = market
    cli.ok("transfer", "5", "bob")
    before = cli.ok("wallet", "bob")
    assert "say whose channel with --node ADDRESS" in cli.fails("deposit", "1", "--as", "bob")
    for node in ("0x123", "0x" + "00" * 20, "nobody"):
        refused = cli.fails("deposit", "1", "--node", node, "--as", "bob")
        assert f"{node!r} is not a node: give the 0x-address" in refused
    assert "say whose channel" in cli.fails("withdraw", "1", "--as", "bob")
    assert "is not a node" in cli.fails("withdraw", "--finish", "--node", "0x12", "--as", "bob")
    assert cli.ok("wallet", "bob") == before


def test_bad_amounts_and_withdrawals_are_refused_with_a_sentence(market):
    cli, _ = market
    node = ("--node", "operator")
    assert "not an amount" in cli.fails("deposit", "ten", *node, "--as", "alice")
    assert "not a positive amount" in cli.fails("deposit", "0", *node, "--as", "alice")
    assert "more than 18 decimals" in cli.fails("deposit", "0.0000000000000000001", *node)
    assert "less than the 100 to deposit" in cli.fails("deposit", "100", *node, "--as", "bob")
    assert "escrow: no withdrawal requested" in cli.fails(
        "withdraw", "--finish", *node, "--as", "bob"
    )
    assert "holds 0 TSR: withdraw more than 0" in cli.fails("withdraw", "1", *node, "--as", "bob")
    assert cli.run("withdraw", *node, "--as", "bob").returncode == 2  # neither AMOUNT nor --finish


def test_a_client_without_escrow_gets_the_402_sentence(market):
    cli, url = market
    error = cli.fails("ask", "Who founded the Ulora Brewery?", "--node", url, "--as", "bob")
    assert "402" in error and f"tessera deposit AMOUNT --node {_address(cli, 'operator')}" in error


def test_paid_answers_are_settled_audited_and_claimed(market):
    cli, url = market
    out = cli.ok("ask", "Who founded the Ulora Brewery?", "--node", url, "--as", "alice")
    assert "receipt" in out
    # the node settles on its own when due; settling by hand at the same time is safe
    settled = cli.ok("epoch", "settle", "--as", "operator")
    assert "epoch 0:" in settled or "nothing to settle" in settled
    audit = cli.ok("audit", "epoch", "0")
    assert ": OK" in audit and "1 receipts re-verified" in audit
    assert "has posted 1 epochs" in cli.fails("audit", "epoch", "7")

    # the tiny test model's answers may use no document (then the treasury takes the
    # contributors' share); the model owner's royalty is certain
    earned = cli.ok("earnings", "builder")
    assert "model owner" in earned and "in challenge window" in earned
    time.sleep(2.5)  # the challenge window
    claimed = cli.ok("claim", "--as", "builder")
    assert "claimed" in claimed and "through epoch 0" in claimed
    assert "nothing to claim now" in cli.ok("claim", "--as", "builder")
    after = cli.ok("earnings", "builder")
    assert "claimable 0 TSR, in challenge window 0 TSR" in after and "claimed 0 TSR" not in after
    assert "claimed" in cli.ok("claim", "--as", "operator")


def test_a_voucher_and_an_authorization_for_any_http_client(market, tmp_path):
    cli, url = market
    node = httpx.get(url + "/v1/models").json()["data"][0]
    address = node["tessera"]["node"]
    header = cli.ok("voucher", address, "1", "--as", "alice").strip()
    body = {"model": node["id"], "messages": [{"role": "user", "content": "Pleno colour?"}]}
    sent = json.dumps(body).encode()
    (tmp_path / "body.json").write_bytes(sent)
    signed = cli.ok("authorize", address, str(tmp_path / "body.json"), "--as", "alice").strip()
    paid = {"X-Tessera-Voucher": header, "Content-Type": "application/json"}
    unsigned = httpx.post(url + "/v1/chat/completions", content=sent, headers=paid, timeout=60)
    assert unsigned.status_code == 401, unsigned.text  # a voucher alone pays for nothing
    assert "X-Tessera-Authorization" in unsigned.json()["error"]["message"]
    paid["X-Tessera-Authorization"] = signed
    answer = httpx.post(url + "/v1/chat/completions", content=sent, headers=paid, timeout=60)
    assert answer.status_code == 200 and answer.json()["receipt"]["price"] > 0
    assert answer.json()["receipt"]["authorization"]["nonce"] == int(signed.split(":")[0])
    (tmp_path / "junk.json").write_text("{oops")
    assert "BODY is not JSON" in cli.fails("authorize", address, str(tmp_path / "junk.json"))
    (tmp_path / "list.json").write_text("[1]")
    assert "must be a JSON object" in cli.fails("authorize", address, str(tmp_path / "list.json"))

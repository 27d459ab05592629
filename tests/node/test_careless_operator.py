"""What a careless operator can do to a node: start it twice, lose the chain, leave the home
open. Each ends in a clear refusal or a private file, never in shared or lost money."""

from __future__ import annotations

import stat

import httpx
import pytest
from backends import free_port
from money_helpers import TSR
from node_helpers import start_node
from paid_requests import paid_headers
from web3 import Web3

from tessera._errors import AccountError
from tessera._node.runtime import build_node
from tessera._payments.ledger import ReceiptDB, open_node_db

ASK = {
    "model": "gemma-3-270m",
    "max_tokens": 4,
    "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
}


@pytest.fixture
def paid(tmp_path, wide_generator, tiny_embedder):
    node = start_node(
        tmp_path, wide_generator, tiny_embedder, account="operator", payments=True,
        settle_check_s=None,
    )  # fmt: skip
    node.t.new_account("client")
    node.t.transfer(10 * TSR, "client")
    node.t.deposit(5 * TSR, "operator", "client")
    yield node
    node.stop()


def _paid(node, body=ASK, amount=TSR) -> dict[str, str]:
    """The headers of an honest paid request: a voucher for `amount` and the client's
    authorization of `body`."""
    address = node.service.node_key.address
    voucher = node.t.sign_voucher(address, amount, "client").to_header()
    return paid_headers(node.t, address, voucher, body)


def test_a_second_node_of_the_same_account_on_one_home_is_refused(paid, wide_generator):
    config = paid.service.config
    with pytest.raises(AccountError, match="already running on this home"):
        build_node(paid.t.node_parts("operator"), config, generator=wide_generator)
    assert httpx.get(paid.url + "/health").json()["status"] == "ok"  # the first one serves on


def test_each_node_account_has_its_own_database(paid, wide_generator, tiny_embedder):
    t = paid.t
    t.new_account("other")
    port = free_port()
    config = type(paid.service.config)(**{**vars(paid.service.config), "port": port})
    other = build_node(t.node_parts("other"), config, wide_generator, tiny_embedder)
    try:
        assert other.service.receipts.path != paid.service.receipts.path
        assert other.service.receipts.owner() == t.address("other")
    finally:
        other.close()
    # a database opened as another node is refused: its vouchers are not that node's
    with pytest.raises(AccountError, match="belongs to node"):
        ReceiptDB(paid.service.receipts.path, t.address("other"))


def test_a_home_database_from_before_accounts_is_adopted_by_its_node(tmp_path):
    from tessera import Tessera

    t = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    deployment, node = t.config.deployment, t.address()
    legacy = ReceiptDB(t.home.legacy_node_db_path(deployment))
    legacy.set_model_digest("m", "0x" + "ab" * 32)
    legacy.close()
    db = open_node_db(t.home, deployment, node)
    assert db.path == t.home.node_db_path(deployment, node) and db.model_digest("m")
    assert not t.home.legacy_node_db_path(deployment).exists()
    db.close()


def test_with_the_chain_down_a_paid_node_answers_503_and_keeps_no_receipt(paid):
    w3, headers = paid.t.chain.w3, _paid(paid)
    provider = w3.provider
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    w3.provider = Web3.HTTPProvider(dead, request_kwargs={"timeout": 2})
    try:
        response = httpx.post(
            paid.url + "/v1/chat/completions", json=ASK, headers=headers, timeout=30
        )
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "chain_unavailable" and error["type"] == "server_error"
        assert "Retry later" in error["message"] and "Traceback" not in error["message"]
        assert paid.service.receipts.count() == 0
        assert httpx.get(paid.url + "/health").status_code == 200
    finally:
        w3.provider = provider
    ok = httpx.post(paid.url + "/v1/chat/completions", json=ASK, headers=_paid(paid))
    assert ok.status_code == 200 and paid.service.receipts.count() == 1


def test_payment_is_checked_before_retrieval_and_tokenisation(paid):
    searched, tokenised = [], []
    service = paid.service
    real_embed, real_build = service.embed, service.prompts.build
    service.embed = lambda texts: (searched.append(texts), real_embed(texts))[1]
    service.prompts.build = lambda *a: (tokenised.append(a), real_build(*a))[1]
    try:
        unpaid = httpx.post(paid.url + "/v1/chat/completions", json=ASK, timeout=30)
        assert unpaid.status_code == 402
        url = paid.url + "/v1/chat/completions"
        short = httpx.post(url, json=ASK, headers=_paid(paid, amount=1))
        assert short.json()["error"]["code"] == "insufficient_voucher"
        assert searched == [] and tokenised == []  # no work for an unpaid request
        paid_ok = httpx.post(paid.url + "/v1/chat/completions", json=ASK, headers=_paid(paid))
        assert paid_ok.status_code == 200 and len(searched) == 1 and len(tokenised) == 1
    finally:
        service.embed, service.prompts.build = real_embed, real_build


def test_fields_the_node_ignores_are_not_kept_in_the_receipt(paid):
    body = {**ASK, "metadata": {"junk": "x" * 10_000}, "logit_bias": {"1": 5}}
    body["messages"] = [{**ASK["messages"][0], "name": "y" * 1_000}]
    response = httpx.post(
        paid.url + "/v1/chat/completions", json=body, headers=_paid(paid, body), timeout=30
    )
    assert response.status_code == 200, response.text
    kept = response.json()["receipt"]["request"]
    assert kept == {"model": ASK["model"], "max_tokens": 4, "messages": ASK["messages"]}


def test_the_home_is_private_to_its_owner(paid):
    home = paid.t.home.path
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(paid.t.home.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(paid.service.receipts.path.stat().st_mode) == 0o600
    home.chmod(0o755)  # an older home, or a careless chmod: opening it closes it again
    paid.t.home.load()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700

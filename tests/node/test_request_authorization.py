"""Every paid request carries its client's signature of the request for this node: without a
valid one the node refuses before any work (nothing reserved, retrieved or kept), so a receipt
always names a request its client made. A free node ignores the header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak
from money_helpers import TSR
from node_helpers import start_node
from paid_requests import authorization

from tessera._client import NodeClient
from tessera._crypto.authorization import (
    AUTHORIZATION_HEADER,
    ClientAuthorization,
    authorize_request,
    check_authorization,
)
from tessera._crypto.receipt import Receipt, canonical_json
from tessera._crypto.voucher import VOUCHER_HEADER
from tessera._node.request_checks import MAX_AUTHORIZATION_CHARS

ASK = {
    "model": "gemma-3-270m",
    "max_tokens": 4,
    "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
}
OTHER_ASK = {**ASK, "messages": [{"role": "user", "content": "What colour is the Pleno?"}]}
STRANGER = Account.from_key(b"\x07" * 32)


@pytest.fixture(scope="module")
def paying(tmp_path_factory, wide_generator, tiny_embedder):
    folder = tmp_path_factory.mktemp("authorized")
    node = start_node(folder, wide_generator, tiny_embedder, payments=True, settle_check_s=None)
    node.t.new_account("client")
    node.t.transfer(20 * TSR, "client")
    node.t.deposit(10 * TSR, node.service.node_key.address, "client")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def free(tmp_path_factory, wide_generator, tiny_embedder):
    node = start_node(tmp_path_factory.mktemp("free"), wide_generator, tiny_embedder)
    yield node
    node.stop()


@dataclass
class Work:
    reserved: int = 0
    retrieved: int = 0


@contextmanager
def counting_work(service) -> Iterator[Work]:
    """Count the reservations and retrievals the node starts while the block runs."""
    work, reserve, retrieve = Work(), service.payments.reserve, service.retrieve

    def counted_reserve(*args, **kwargs):
        work.reserved += 1
        return reserve(*args, **kwargs)

    def counted_retrieve(*args, **kwargs):
        work.retrieved += 1
        return retrieve(*args, **kwargs)

    service.payments.reserve, service.retrieve = counted_reserve, counted_retrieve
    try:
        yield work
    finally:
        del service.payments.reserve, service.retrieve


def _node(live) -> str:
    return live.service.node_key.address


def _voucher(live, amount: int = TSR) -> str:
    return live.t.sign_voucher(_node(live), amount, "client").to_header()


def _signed(live, **changes) -> str:
    """The client's authorization of ASK, with one part of what it signs changed."""
    deployment = live.t.config.deployment
    parts = {
        "signer": live.t.signer("client"),
        "chain_id": deployment.chain_id,
        "verifying_contract": deployment.registry,
        "node": _node(live),
        "request_hash": keccak(canonical_json(ASK)),
        **changes,
    }
    return authorize_request(
        parts["signer"],
        parts["chain_id"],
        parts["verifying_contract"],
        parts["node"],
        parts["request_hash"],
    ).to_header()


def _post(live, headers, body=ASK) -> httpx.Response:
    return httpx.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=60)


def test_a_paid_answer_carries_the_clients_authorization_in_its_receipt(paying):
    signed = authorization(paying.t, _node(paying), ASK)
    response = _post(paying, {VOUCHER_HEADER: _voucher(paying), AUTHORIZATION_HEADER: signed})
    assert response.status_code == 200, response.text
    receipt = Receipt.from_json(response.json()["receipt"])
    receipt.verify()
    assert receipt.authorization == ClientAuthorization.from_header(signed)
    assert receipt.authorization_hash == receipt.authorization.hash != bytes(32)
    # anyone checks it from the receipt alone, as the disputes contract does
    check_authorization(
        receipt.authorization,
        receipt.client,
        receipt.chain_id,
        receipt.verifying_contract,
        receipt.node,
        receipt.request_hash,
    )
    assert paying.service.receipts.get(receipt.id).authorization == receipt.authorization


@pytest.mark.parametrize(
    ("header", "code", "words"),
    [
        (None, "authorization_required", f"needs an {AUTHORIZATION_HEADER} header"),
        ("", "authorization_required", f"needs an {AUTHORIZATION_HEADER} header"),
        ("a signature, trust me", "invalid_authorization", "must be NONCE:0xSIGNATURE"),
        ("-1:0x" + "11" * 65, "invalid_authorization", "must be NONCE:0xSIGNATURE"),
        (f"{2**256}:0x" + "11" * 65, "invalid_authorization", "must be NONCE:0xSIGNATURE"),
        ("7:0x" + "11" * 64, "invalid_authorization", "client authorization"),
        ("7:0x" + "zz" * 65, "invalid_authorization", "client authorization"),
        ("7:0x" + "00" * 65, "invalid_authorization", "client authorization"),
        ("7:" + "1" * MAX_AUTHORIZATION_CHARS, "invalid_authorization", "characters"),
    ],
    ids=[
        "absent",
        "empty",
        "not-nonce-colon-signature",
        "negative-nonce",
        "nonce-2-to-256",
        "64-byte-signature",
        "signature-not-hex",
        "zero-signature",
        "over-the-size-limit",
    ],
)
def test_a_missing_or_malformed_authorization_is_refused_before_any_work(
    paying, header, code, words
):
    headers = {VOUCHER_HEADER: _voucher(paying)}
    if header is not None:
        headers[AUTHORIZATION_HEADER] = header
    _refused(paying, headers, code, words)


@pytest.mark.parametrize(
    "change",
    ["signed-by-a-stranger", "for-another-body", "for-another-node", "for-another-chain",
     "for-another-registry"],
)  # fmt: skip
def test_an_authorization_of_something_else_is_refused_before_any_work(paying, change):
    deployment = paying.t.config.deployment
    changes = {
        "signed-by-a-stranger": {"signer": STRANGER},
        "for-another-body": {"request_hash": keccak(canonical_json(OTHER_ASK))},
        "for-another-node": {"node": STRANGER.address},
        "for-another-chain": {"chain_id": deployment.chain_id + 1},
        "for-another-registry": {"verifying_contract": deployment.settlement},
    }[change]
    headers = {VOUCHER_HEADER: _voucher(paying), AUTHORIZATION_HEADER: _signed(paying, **changes)}
    error = _refused(paying, headers, "invalid_authorization", "not the paying client")
    assert paying.t.address("client") in error["message"]
    assert error["tessera"] == {
        "request_hash": "0x" + keccak(canonical_json(ASK)).hex(),
        "node": _node(paying),
    }


def test_an_authorization_for_another_question_does_not_pay_for_this_one(paying):
    other = authorization(paying.t, _node(paying), OTHER_ASK)
    headers = {VOUCHER_HEADER: _voucher(paying), AUTHORIZATION_HEADER: other}
    _refused(paying, headers, "invalid_authorization", "canonical JSON")
    assert _post(paying, headers, OTHER_ASK).status_code == 200  # the question it was for


def test_two_authorization_headers_are_refused(paying):
    signed = _signed(paying)
    headers = [
        (VOUCHER_HEADER, _voucher(paying)),
        (AUTHORIZATION_HEADER, signed),
        (AUTHORIZATION_HEADER, signed),
    ]
    _refused(paying, headers, "invalid_authorization", "send exactly one")


def test_a_bad_voucher_is_refused_as_a_voucher_first(paying):
    signed = {AUTHORIZATION_HEADER: _signed(paying)}
    assert _refused(paying, signed, "payment_required", VOUCHER_HEADER, status=402)
    garbled = {**signed, VOUCHER_HEADER: "{not json"}
    assert _refused(paying, garbled, "invalid_voucher", "is not a voucher", status=402)
    no_authorization = {VOUCHER_HEADER: "{not json"}
    _refused(paying, no_authorization, "invalid_voucher", "is not a voucher", status=402)


def test_a_stream_without_authorization_is_refused_before_its_first_event(paying):
    body = {**ASK, "stream": True}
    headers = {VOUCHER_HEADER: _voucher(paying)}
    before = paying.service.receipts.count()
    with httpx.stream("POST", paying.url + "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 401 and r.headers["content-type"] == "application/json"
        assert json.loads(r.read())["error"]["code"] == "authorization_required"
    assert paying.service.receipts.count() == before
    headers[AUTHORIZATION_HEADER] = authorization(paying.t, _node(paying), body)
    with httpx.stream("POST", paying.url + "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200 and r.read().rstrip().endswith(b"data: [DONE]")
    (receipt,) = [
        x for x in paying.service.receipts.all() if x.request == body
    ]  # the streamed answer's
    assert receipt.authorization is not None


def test_node_client_signs_every_paid_request_with_a_fresh_nonce(paying):
    client = NodeClient(paying.url, payer=paying.t.payer("client"))
    try:
        first = client.ask("Who founded the Ulora Brewery?", max_tokens=3).receipt
        second = client.ask("Who founded the Ulora Brewery?", max_tokens=3).receipt
    finally:
        client.close()
    assert first.request == second.request  # the same question, two authorizations
    assert first.authorization.nonce != second.authorization.nonce
    for receipt in (first, second):
        check_authorization(
            receipt.authorization,
            paying.t.address("client"),
            receipt.chain_id,
            paying.t.config.deployment.registry,
            _node(paying),
            receipt.request_hash,
        )


def test_a_free_node_ignores_the_header(free):
    headers = {AUTHORIZATION_HEADER: "not even an authorization"}
    response = _post(free, headers)
    assert response.status_code == 200, response.text
    receipt = Receipt.from_json(response.json()["receipt"])
    assert receipt.authorization is None and receipt.authorization_hash == bytes(32)


def _refused(live, headers, code: str, words: str, status: int = 401) -> dict:
    """Post ASK and check the refusal; nothing reserved, retrieved, kept or owed."""
    service, client = live.service, live.t.address("client")
    receipts, voucher = service.receipts.count(), service.receipts.voucher(client)
    with counting_work(service) as work:
        response = _post(live, headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert error["param"] == ("authorization" if status == 401 else "voucher")
    assert (work.reserved, work.retrieved) == (0, 0)
    assert service.receipts.count() == receipts and service.receipts.voucher(client) == voucher
    assert service.payments.in_flight(client) == 0
    return error


def test_a_replayed_authorization_is_refused_before_any_work(paying):
    """One authorization buys one answer: sent again (by the client, or by anyone who saw it)
    it would bill its client twice for a request made once."""
    signed = authorization(paying.t, _node(paying), ASK)
    headers = {VOUCHER_HEADER: _voucher(paying), AUTHORIZATION_HEADER: signed}
    assert _post(paying, headers).status_code == 200
    nonce = ClientAuthorization.from_header(signed).nonce
    _refused(paying, headers, "authorization_replayed", f"nonce {nonce}) was already used")
    fresh = authorization(paying.t, _node(paying), ASK)  # the same question, signed again
    assert _post(paying, {**headers, AUTHORIZATION_HEADER: fresh}).status_code == 200


def test_a_spent_nonce_stays_spent_across_a_restart_and_is_per_client(tmp_path):
    from tessera._payments.ledger import ReceiptDB

    path, client, other = tmp_path / "receipts.sqlite", STRANGER.address, Account.create().address
    db = ReceiptDB(path)
    assert db.use_authorization(client, 2**255) and not db.use_authorization(client, 2**255)
    assert db.use_authorization(other, 2**255)  # another client's nonce is its own
    db.db.close()
    reopened = ReceiptDB(path)
    assert not reopened.use_authorization(client.lower(), 2**255)  # any spelling of the address
    assert reopened.use_authorization(client, 2**255 - 1)

"""Asking with a browser wallet: the typed data served is exactly what a local key signs in
`ask`; signed with a real keystore key it buys an answer whose receipt checks out, and the
escrow moves by exactly its price; a signature that is not the client's, or bad input, is
refused before the node is sent anything, and no money moves."""

from __future__ import annotations

import json

import pytest
from conftest import client_for, csrf_of
from eth_account import Account
from money_helpers import high_s_twin
from node_helpers import start_paying_node

from tessera import SignatureError
from tessera._client import NodeClient, request_hash
from tessera._crypto import authorization
from tessera.web.sessions import PREPARES_PER_SESSION

QUESTION = "Who founded the Ulora Brewery?"


@pytest.fixture(scope="module")
def paying(tmp_path_factory, wide_generator, tiny_embedder):
    """A node paid by voucher; alice (whose keystore key plays the wallet) has 20 TSR in its
    channel. Shared by this module: each test reads only what it changes."""
    node = start_paying_node(tmp_path_factory.mktemp("wallet-ask"), wide_generator, tiny_embedder)
    yield node
    node.stop()


@pytest.fixture
def web(paying):
    with client_for(paying.t, node=paying.url) as client:
        yield client


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """Every body a NodeClient of this process posts to a node."""
    bodies: list[dict] = []
    post = NodeClient._request

    def spy(self, method, path, **kwargs):
        if method == "POST":
            bodies.append(kwargs.get("json", {}))
        return post(self, method, path, **kwargs)

    monkeypatch.setattr(NodeClient, "_request", spy)
    return bodies


def _sign(key, typed: dict) -> str:
    """What a wallet's eth_signTypedData_v4 returns for the JSON it is handed."""
    served = json.loads(json.dumps(typed))  # exactly as it crossed the wire
    return "0x" + bytes(Account.sign_typed_data(key.key, full_message=served).signature).hex()


def _post(web, path: str, body: dict, csrf: str | None = None):
    token = csrf or csrf_of(web.get("/ask").text)
    return web.post(path, json={**body, "csrf": token})


def _prepared(web, key, question: str = QUESTION) -> dict:
    answer = _post(web, "/api/ask/typed-data", {"question": question, "account": key.address})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()


def _money(paying) -> tuple[int, int, int, int]:
    """alice's channel on chain, what the home's ledger says she spent, the node's receipts
    and the voucher it keeps for her: none may change on a refusal."""
    t, node = paying.t, paying.service.node_key.address
    kept = paying.service.receipts.voucher(t.address("alice"))
    return (
        t.settlement.balance(t.address("alice"), node),
        t.payer("alice").spent(node),
        paying.service.receipts.count(),
        kept.amount if kept else 0,
    )


def test_the_typed_data_is_what_a_local_key_signs_when_asking(paying, monkeypatch):
    t, alice = paying.t, paying.t.signer("alice")
    unsigned = t.prepare_ask(alice.address, QUESTION, node=paying.url)
    request_typed, voucher_typed = unsigned.typed_data()
    local = NodeClient(paying.url, payer=t.payer("alice"))
    try:
        quote = local.quote(QUESTION)  # the body and bound `ask` sends
        voucher = local.payer.authorise(quote.node, quote.up_to)  # as `ask` signs it
    finally:
        local.close()
    assert unsigned.request == quote and unsigned.node == quote.node
    assert _sign(alice, voucher_typed) == voucher.signature
    assert voucher_typed["message"]["amount"] == str(voucher.amount)
    # the local path draws its own nonce: given the same one, it signs the same bytes
    monkeypatch.setattr(authorization, "fresh_nonce", lambda: unsigned.nonce)
    signed = t.sign_request(quote.node, quote.payload, "alice")
    assert _sign(alice, request_typed) == signed.signature
    assert request_typed["message"]["requestHash"] == "0x" + request_hash(quote.payload).hex()
    assert request_typed["message"]["nonce"] == str(signed.nonce)


def test_a_wallet_asks_and_the_escrow_moves_by_exactly_the_price(paying, web, sent):
    t, alice, node = paying.t, paying.t.signer("alice"), paying.service.node_key.address
    spent = t.payer("alice").spent(node)
    prepared = _prepared(web, alice)
    assert prepared["node"] == node and int(prepared["up_to"]) > 0
    signatures = [_sign(alice, typed) for typed in prepared["typed_data"]]
    asked = _post(web, "/api/ask", {"ask": prepared["ask"], "signatures": signatures})
    assert asked.status_code == 200, asked.text
    receipt_id = asked.json()["receipt"]
    assert asked.json()["location"] == f"/receipts/{receipt_id}"
    page = web.get(asked.json()["location"])
    assert page.status_code == 200 and "Receipt checked now" in page.text

    receipt = t.receipt(receipt_id)  # saved as `ask` saves it, signature and hashes checked
    t.verify_receipt(receipt)
    assert receipt.client == alice.address and receipt.price > 0
    assert receipt.authorization.signature == signatures[0]
    assert len(sent) == 1 and sent[0]["messages"][0]["content"] == QUESTION
    assert t.payer("alice").spent(node) == spent + receipt.price
    before = t.settlement.balance(alice.address, node)
    assert t.settle_epoch("operator") is not None  # the node redeems the wallet's voucher
    assert before - t.settlement.balance(alice.address, node) == receipt.price


def _flipped(signature: str) -> str:
    """The signature with one bit of r changed: a tampered one."""
    raw = bytearray(bytes.fromhex(signature[2:]))
    raw[5] ^= 1
    return "0x" + raw.hex()


@pytest.mark.parametrize(
    ("which", "forge", "said"),
    [
        (0, "other key", "recovers to"),
        (1, "other key", "not signed by"),
        (0, "tampered", "authorization"),
        (1, "tampered", "voucher"),
        (1, "high s", "voucher"),
        (0, "swapped", "authorization"),
    ],
)
def test_a_signature_not_the_clients_is_refused_before_the_node_hears_of_it(
    paying, web, sent, which, forge, said
):
    alice, stranger = paying.t.signer("alice"), Account.create()
    prepared = _prepared(web, alice)
    signatures = [_sign(alice, typed) for typed in prepared["typed_data"]]
    if forge == "other key":
        signatures[which] = _sign(stranger, prepared["typed_data"][which])
    elif forge == "tampered":
        signatures[which] = _flipped(signatures[which])
    elif forge == "high s":  # the same key's other signature, which the contract refuses
        signatures[which] = high_s_twin(signatures[which])
    else:
        signatures.reverse()
    before = _money(paying)
    refused = _post(web, "/api/ask", {"ask": prepared["ask"], "signatures": signatures})
    assert refused.status_code in (400, 403), refused.text
    assert set(refused.json()) == {"error"} and said in refused.json()["error"]
    assert sent == [] and _money(paying) == before  # nothing sent, nothing owed or moved


def test_the_facade_refuses_a_bad_signature_and_sends_the_good_one_after(paying, sent):
    t, alice = paying.t, paying.t.signer("alice")
    unsigned = t.prepare_ask(alice.address, QUESTION, node=paying.url)
    good = [_sign(alice, typed) for typed in unsigned.typed_data()]
    before = _money(paying)
    with pytest.raises(SignatureError, match="not signed by"):
        t.ask_signed(unsigned, [good[0], _sign(Account.create(), unsigned.typed_data()[1])])
    assert sent == [] and _money(paying) == before
    result = t.ask_signed(unsigned, good)  # its nonce was never spent: the node never saw it
    assert result.saved is not None and result.receipt.client == alice.address


def test_a_question_held_for_a_wallet_is_sent_once(paying, web):
    alice = paying.t.signer("alice")
    prepared = _prepared(web, alice)
    signatures = [_sign(alice, typed) for typed in prepared["typed_data"]]
    body = {"ask": prepared["ask"], "signatures": signatures}
    assert _post(web, "/api/ask", body).status_code == 200
    before = _money(paying)
    again = _post(web, "/api/ask", body)
    assert again.status_code == 400 and "not waiting to be sent" in again.json()["error"]
    assert _money(paying) == before


def test_a_voucher_the_channel_outgrew_is_refused(paying, web, sent):
    """Two questions prepared at once: once the first is paid, the second's voucher no
    longer covers the channel's total, and it is refused before anything is sent."""
    alice = paying.t.signer("alice")
    first, second = _prepared(web, alice), _prepared(web, alice)
    for prepared in (first, second):
        signatures = [_sign(alice, typed) for typed in prepared["typed_data"]]
        prepared["body"] = {"ask": prepared["ask"], "signatures": signatures}
    assert _post(web, "/api/ask", first["body"]).status_code == 200
    before = _money(paying)
    refused = _post(web, "/api/ask", second["body"])
    assert refused.status_code == 400 and "ask again" in refused.json()["error"]
    assert len(sent) == 1 and _money(paying) == before


LONG = "x" * 2001
NESTED = "[" * 30_000 + "]" * 30_000  # under the size bound; too deep or not an object


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ("{not json", 400, "is not JSON"),
        (NESTED, 400, "JSON"),
        ("[1, 2]", 400, "must be a JSON object"),
        ('{"question": "Who?", "account": "{me}"}', 403, "security token"),
        ('{"question": "", "account": "{me}", "csrf": "{csrf}"}', 400, "'question' field is empty"),
        ('{"question": 7, "account": "{me}", "csrf": "{csrf}"}', 400, "must be a string"),
        (f'{{"question": "{LONG}", "account": "{{me}}", "csrf": "{{csrf}}"}}', 400, "over 2000"),
        ('{"question": "\\ud800?", "account": "{me}", "csrf": "{csrf}"}', 400, "lone UTF-16"),
        ('{"question": "Who?", "account": "alice", "csrf": "{csrf}"}', 400, "is not an address"),
        ('{"question": "Who?", "csrf": "{csrf}"}', 400, "'account' field is empty"),
    ],
)
def test_bad_input_for_the_typed_data_is_refused_with_a_sentence(
    paying, web, sent, body, status, said
):
    csrf = csrf_of(web.get("/ask").text)
    text = body.replace("{me}", paying.t.address("alice")).replace("{csrf}", csrf)
    headers = {"Content-Type": "application/json"}
    answer = web.post("/api/ask/typed-data", content=text.encode(), headers=headers)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"error"} and said in answer.json()["error"]
    assert sent == []


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"ask": "nope", "signatures": ["0x00", "0x00"]}, "not waiting to be sent"),
        ({"signatures": ["0x00", "0x00"]}, "'ask' field is empty"),
        ({"ask": "{ask}", "signatures": "0x00"}, "as a list"),
        ({"ask": "{ask}", "signatures": ["{good}"]}, "give two signatures"),
        ({"ask": "{ask}", "signatures": [7, 8]}, "give two signatures"),
        ({"ask": "{ask}", "signatures": ["0x1234", "{good}"]}, "authorization"),
    ],
)
def test_bad_signatures_or_tickets_are_refused_and_nothing_moves(paying, web, sent, fields, said):
    alice = paying.t.signer("alice")
    prepared = _prepared(web, alice)
    good = _sign(alice, prepared["typed_data"][0])
    text = json.dumps(fields).replace("{ask}", prepared["ask"]).replace("{good}", good)
    before = _money(paying)
    refused = _post(web, "/api/ask", json.loads(text))
    assert refused.status_code in (400, 403), refused.text
    assert said in refused.json()["error"]
    assert sent == [] and _money(paying) == before


def test_a_body_that_is_not_json_or_too_big_is_refused(paying, web):
    csrf = csrf_of(web.get("/ask").text)
    as_form = web.post("/api/ask", data={"csrf": csrf, "ask": "x"})
    assert as_form.status_code == 400 and "Content-Type: application/json" in as_form.text
    huge = json.dumps({"csrf": csrf, "question": "x" * 70_000})
    too_big = web.post(
        "/api/ask/typed-data", content=huge.encode(), headers={"Content-Type": "application/json"}
    )
    assert too_big.status_code == 413


def test_the_ask_page_offers_the_wallet_without_a_local_account(paying, web):
    page = web.get("/ask").text
    assert 'id="ask-wallet"' in page and "Ask with wallet" in page
    assert 'src="/static/ask-wallet.js"' in page
    assert "Ask and pay" not in page  # no local account is unlocked


def test_a_browser_preparing_questions_in_a_loop_is_slowed(paying, web):
    alice = paying.t.signer("alice")
    for _ in range(PREPARES_PER_SESSION):
        _prepared(web, alice)
    again = _post(web, "/api/ask/typed-data", {"question": QUESTION, "account": alice.address})
    assert again.status_code == 400 and "too many questions prepared" in again.json()["error"]
    # another browser (another session) is not held up by the first
    with client_for(paying.t, node=paying.url) as other:
        assert _prepared(other, alice)["typed_data"]

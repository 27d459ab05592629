"""Delegating votes by signature from a browser wallet: the served typed data, signed with a
real keystore key, is relayed and the chain's delegate is the one signed for, with the gas
paid by the relayer; every signature the token would refuse, and every malformed body, is
refused with a sentence and leaves the delegation as it was; no relayer, no relaying."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, client_for, csrf_of
from eth_account import Account
from money_helpers import TSR

from tessera import AccountError, Tessera
from tessera._crypto.ecdsa import SECP256K1_N
from tessera.web.sessions import RELAYS_PER_SESSION

NO_RELAYER_HINT = "Delegate to yourself with your wallet"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The default account holds the supply and relays; carol holds 1,000 TSR, undelegated."""
    tmp = tmp_path_factory.mktemp("delegation")
    t = Tessera.init(tmp / "home", chain="inprocess", password=PASSWORD, scrypt_n=2**4)
    for name in ("carol", "dave"):
        t.new_account(name)
    t.transfer(1_000 * TSR, "carol")
    yield t
    t.close()


@pytest.fixture
def web(home):
    with client_for(home, relayer="default") as client:
        yield client


class Wallet:
    """What a browser wallet and delegate-wallet.js do, with a keystore key, on one client."""

    def __init__(self, web, t: Tessera, account: str) -> None:
        self.web, self.t, self.key = web, t, t.signer(account)
        self.csrf = csrf_of(web.get("/proposals/new").text)

    def post(self, path: str, body: dict):
        return self.web.post(path, json={**body, "csrf": self.csrf})

    def typed_data(self, delegatee: str | None = None) -> dict:
        body = {"delegator": self.key.address, "delegatee": delegatee or ""}
        answer = self.post("/api/delegation/typed-data", body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        return answer.json()

    def sign(self, typed: dict, key=None) -> str:
        signed = Account.sign_typed_data((key or self.key).key, full_message=typed)
        return "0x" + bytes(signed.signature).hex()

    def relay(self, typed: dict, signature: str):
        message = typed["message"]
        return self.post(
            "/api/delegation",
            {"delegator": self.key.address, "delegatee": message["delegatee"],
             "nonce": message["nonce"], "expiry": message["expiry"], "signature": signature},
        )  # fmt: skip


def _delegate_of(t: Tessera, account: str) -> str:
    return t.settlement.token.delegate_of(t.address(account))


def _refused(answer, status: int, words: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert words in error, error
    return error


def test_a_signed_delegation_is_relayed_and_the_delegator_pays_no_gas(web, home):
    t, carol = home, Wallet(web, home, "carol")
    delegatee = Account.create().address
    eth_before, nonce_before = t.chain.w3.eth.get_balance(carol.key.address), _nonce(t, carol)
    typed = carol.typed_data(delegatee)
    assert typed["primaryType"] == "Delegation"
    assert typed["domain"]["verifyingContract"] == t.settlement.token.address
    assert typed["message"]["delegatee"] == delegatee
    assert typed["message"]["nonce"] == str(nonce_before)

    answer = carol.relay(typed, carol.sign(typed))
    assert answer.status_code == 200, answer.text
    relayed = answer.json()
    assert relayed["delegate"] == delegatee == _delegate_of(t, "carol")
    assert relayed["votes"] == str(1_000 * TSR) and relayed["votes_tsr"] == "1000"
    assert relayed["relayer"] == t.address("default")
    tx, _ = t.transaction(relayed["transaction"])
    assert tx["from"] == t.address("default")  # the relayer sent it and paid its gas
    assert t.chain.w3.eth.get_balance(carol.key.address) == eth_before
    assert _nonce(t, carol) == nonce_before + 1


def _nonce(t: Tessera, wallet: Wallet) -> int:
    return t.settlement.token.nonces(wallet.key.address)


def test_a_delegation_signed_by_another_key_is_refused(web, home):
    carol, before = Wallet(web, home, "carol"), _delegate_of(home, "carol")
    typed = carol.typed_data()
    error = _refused(carol.relay(typed, carol.sign(typed, home.signer("dave"))), 403, "signed by")
    assert home.address("dave") in error and "not by the delegator" in error
    assert _delegate_of(home, "carol") == before


def test_an_expired_delegation_is_refused(web, home):
    carol, before = Wallet(web, home, "carol"), _delegate_of(home, "carol")
    typed = carol.typed_data()
    typed["message"]["expiry"] = str(home.chain.now() - 60)
    _refused(carol.relay(typed, carol.sign(typed)), 403, "the delegation expired")
    assert _delegate_of(home, "carol") == before


def test_a_relayed_delegation_cannot_be_replayed(web, home):
    carol = Wallet(web, home, "carol")
    typed = carol.typed_data(home.address("dave"))
    signature = carol.sign(typed)
    assert carol.relay(typed, signature).status_code == 200
    nonce = _nonce(home, carol)
    carol.typed_data(Account.create().address)  # what a wallet would sign next: not signed
    _refused(carol.relay(typed, signature), 403, "is used already")
    assert _delegate_of(home, "carol") == home.address("dave")
    assert _nonce(home, carol) == nonce


def test_the_high_s_twin_of_a_good_signature_is_refused(web, home):
    carol, before = Wallet(web, home, "carol"), _delegate_of(home, "carol")
    typed = carol.typed_data(Account.create().address)
    raw = bytes.fromhex(carol.sign(typed)[2:])
    s, v = int.from_bytes(raw[32:64], "big"), raw[64]
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    _refused(carol.relay(typed, "0x" + twin.hex()), 403, "upper half of the curve order")
    assert _delegate_of(home, "carol") == before


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("nonce", 1.5, "'nonce' field must be a whole number"),
        ("nonce", True, "'nonce' field must be a whole number"),
        ("nonce", "-1", "'nonce' field must be decimal digits only"),
        ("expiry", "0x10", "'expiry' field must be decimal digits only"),
        ("expiry", "9" * 79, "'expiry' field must be decimal digits only"),
        ("expiry", str(2**256), "expiry must be an integer from 0 to 2**256 - 1"),
        ("delegator", "carol", "'delegator' field 'carol' is not an address"),
        ("delegatee", ["0x" + "11" * 20], "'delegatee' field must be a string"),
        ("signature", 12, "'signature' field must be a string"),
        ("signature", "0x1234", "signature is malformed"),
        ("signature", "0x" + "ab" * 200, "'signature' field is over 132 characters"),
    ],
)
def test_a_malformed_field_is_refused_before_any_chain_work(web, home, field, value, words):
    carol, before = Wallet(web, home, "carol"), _delegate_of(home, "carol")
    body = {"delegator": carol.key.address, "delegatee": carol.key.address, "nonce": "0",
            "expiry": "99999999999", "signature": "0x" + "11" * 65, field: value}  # fmt: skip
    _refused(carol.post("/api/delegation", body), 400, words)
    assert _delegate_of(home, "carol") == before


def test_a_body_that_is_not_a_json_object_with_the_token_is_refused(web, home):
    carol = Wallet(web, home, "carol")
    headers = {"Content-Type": "application/json"}
    not_json = web.post("/api/delegation", content=b"{delegator: carol", headers=headers)
    _refused(not_json, 400, "the body is not JSON")
    _refused(web.post("/api/delegation", json=[carol.csrf]), 400, "must be a JSON object")
    form = web.post("/api/delegation", data={"csrf": carol.csrf})
    _refused(form, 400, "send the body as JSON")
    no_token = web.post("/api/delegation/typed-data", json={"delegator": carol.key.address})
    _refused(no_token, 403, "security token is missing")


def test_relaying_is_limited_per_browser(web, home):
    carol = Wallet(web, home, "carol")
    typed = carol.typed_data()
    wrong = carol.sign(typed, home.signer("dave"))
    for _ in range(RELAYS_PER_SESSION):
        _refused(carol.relay(typed, wrong), 403, "not by the delegator")
    _refused(carol.relay(typed, carol.sign(typed)), 400, "too many delegations relayed")
    with client_for(home, relayer="default") as other:  # another browser is not held up
        dave = Wallet(other, home, "dave")
        typed = dave.typed_data()
        assert dave.relay(typed, dave.sign(typed)).status_code == 200


def test_the_governance_page_offers_it_where_a_relayer_pays(web):
    page = web.get("/proposals/new").text
    assert 'id="delegate-by-signature"' in page and "Delegate by signature (no gas)" in page
    assert 'src="/static/delegate-wallet.js"' in page


def test_without_a_relayer_relaying_is_refused_with_the_wallets_own_way(home):
    before = _delegate_of(home, "carol")
    with client_for(home) as web:
        carol = Wallet(web, home, "carol")
        page = web.get("/proposals/new").text
        assert "Delegate by signature" not in page and "delegate-wallet.js" not in page
        assert "/api/tx/delegate" in page  # the wallet can still send it and pay the gas
        refused = carol.post("/api/delegation/typed-data", {"delegator": carol.key.address})
        _refused(refused, 403, NO_RELAYER_HINT)
        typed = home.delegation_typed_data(carol.key.address)
        _refused(carol.relay(typed, carol.sign(typed)), 403, "--relayer NAME")
    assert _delegate_of(home, "carol") == before


def test_the_account_unlocked_in_the_browser_relays_when_the_app_has_none(home):
    with client_for(home) as web:
        csrf = csrf_of(web.get("/session").text)
        signed_in = web.post(
            "/session/unlock", data={"csrf": csrf, "account": "dave", "password": PASSWORD}
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        page = web.get("/proposals/new").text
        assert "Delegate by signature (no gas)" in page and "delegate-wallet.js" in page
        carol = Wallet(web, home, "carol")
        typed = carol.typed_data(home.address("carol"))
        answer = carol.relay(typed, carol.sign(typed))
        assert answer.status_code == 200, answer.text
        assert answer.json()["relayer"] == home.address("dave")
    assert _delegate_of(home, "carol") == home.address("carol")


def test_a_relayer_that_cannot_sign_stops_the_app_at_start(home):
    with pytest.raises(AccountError, match="no account 'nobody'"):
        client_for(home, relayer="nobody")

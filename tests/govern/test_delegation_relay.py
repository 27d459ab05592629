"""Delegation by signature through the facade: the typed data hashes under the token's own
EIP-712 domain, so the token recovers the holder who signed it; a relayer pays the gas; each
signature the token would refuse is refused first, with a sentence, and nothing is sent."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from money_helpers import TSR

from tessera._api import Tessera
from tessera._crypto.ecdsa import SECP256K1_N
from tessera._errors import InputError, SignatureError


@pytest.fixture
def t(tmp_path):
    home = Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    home.new_account("alice")
    home.transfer(500 * TSR, "alice")
    yield home
    home.close()


def _signed(t, account: str, delegatee: str) -> tuple[dict, str]:
    key = t.signer(account)
    typed = t.delegation_typed_data(key.address, delegatee)
    return typed, "0x" + bytes(Account.sign_typed_data(key.key, full_message=typed).signature).hex()


def test_the_typed_data_is_under_the_tokens_own_domain(t):
    token = t.settlement.token
    alice = t.address("alice")
    typed = t.delegation_typed_data(alice)
    assert typed["primaryType"] == "Delegation"
    assert typed["domain"] == {
        "name": token.contract.functions.name().call(),
        "version": "1",
        "chainId": t.chain.chain_id,
        "verifyingContract": token.address,
    }
    assert typed["message"]["delegatee"] == alice  # itself, by default
    assert typed["message"]["nonce"] == "0"  # decimal strings, as a wallet takes them
    assert int(typed["message"]["expiry"]) > t.chain.now()
    header = encode_typed_data(full_message=typed).header
    assert header == bytes(token.contract.functions.DOMAIN_SEPARATOR().call())


def test_the_token_recovers_the_signer_and_the_relayer_pays(t):
    bob = Account.create().address
    alice = t.address("alice")
    typed, signature = _signed(t, "alice", bob)
    eth_before = t.chain.w3.eth.get_balance(alice)
    message = typed["message"]
    tx = t.relay_delegation(alice, bob, int(message["nonce"]), int(message["expiry"]), signature)
    assert t.transaction_status(tx) == "succeeded"
    assert t.transaction(tx)[0]["from"] == t.address()  # the default account sent it
    assert t.settlement.token.delegate_of(alice) == bob
    assert t.settlement.token.votes(bob) == 500 * TSR
    assert t.settlement.token.nonces(alice) == 1
    assert t.chain.w3.eth.get_balance(alice) == eth_before


@pytest.mark.parametrize("form", ["bytes", "vrs", "eip2098"])
def test_a_signature_relays_as_bytes_or_v_r_s_or_its_short_form(t, form):
    alice = t.address("alice")
    typed, signature = _signed(t, "alice", alice)
    raw = bytes.fromhex(signature[2:])
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    given = {
        "bytes": raw,
        "vrs": (v, r, s),
        "eip2098": "0x" + raw[:32].hex() + (((v - 27) << 255) | s).to_bytes(32, "big").hex(),
    }[form]
    nonce, expiry = int(typed["message"]["nonce"]), int(typed["message"]["expiry"])
    t.relay_delegation(alice, alice, nonce, expiry, given, relayer="default")
    assert t.gov.voting_power("alice") == (500 * TSR, alice)


def test_a_delegation_changed_after_signing_is_refused(t):
    alice, bob = t.address("alice"), Account.create().address
    typed, signature = _signed(t, "alice", alice)
    nonce, expiry = int(typed["message"]["nonce"]), int(typed["message"]["expiry"])
    with pytest.raises(SignatureError, match="not by the delegator"):
        t.relay_delegation(alice, bob, nonce, expiry, signature)  # another delegatee
    with pytest.raises(SignatureError, match="not by the delegator"):
        t.relay_delegation(alice, alice, nonce, expiry + 1, signature)
    assert int(t.settlement.token.delegate_of(alice), 16) == 0


def test_a_high_s_twin_and_bad_values_are_refused_before_the_chain(t):
    alice = t.address("alice")
    typed, signature = _signed(t, "alice", alice)
    raw = bytes.fromhex(signature[2:])
    s, v = int.from_bytes(raw[32:64], "big"), raw[64]
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    nonce, expiry = int(typed["message"]["nonce"]), int(typed["message"]["expiry"])
    with pytest.raises(SignatureError, match="upper half of the curve order"):
        t.relay_delegation(alice, alice, nonce, expiry, twin)
    with pytest.raises(InputError, match="nonce must be an integer"):
        t.relay_delegation(alice, alice, -1, expiry, signature)
    with pytest.raises(InputError, match="expiry must be an integer"):
        t.relay_delegation(alice, alice, nonce, True, signature)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="give the delegation's signature"):
        t.relay_delegation(alice, alice, nonce, expiry, (27, 1))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not an address"):
        t.relay_delegation("alice", alice, nonce, expiry, signature)
    assert t.settlement.token.nonces(alice) == 0

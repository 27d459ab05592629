"""Requests that are not properly paid get a 402 that says why; nothing is served or owed."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from money_helpers import TSR
from paid_requests import paid_headers

from tessera._client import NodeClient
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher
from tessera._errors import NodeError

BODY = {
    "model": "gemma-3-270m",
    "max_tokens": 4,
    "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
}


def _post(node, voucher: Voucher | str | None):
    """BODY with `voucher`; a Voucher's request also carries its client's authorization."""
    headers = {}
    if isinstance(voucher, Voucher):
        name = next(a.name for a in node.t.accounts() if a.address == voucher.client)
        headers = paid_headers(node.t, _node(node), voucher.to_header(), BODY, account=name)
    elif voucher is not None:
        headers[VOUCHER_HEADER] = voucher
    return httpx.post(node.url + "/v1/chat/completions", json=BODY, headers=headers, timeout=60)


def _refused(node, voucher, code: str, words: str) -> dict:
    receipts = node.service.receipts.count()
    response = _post(node, voucher)
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert node.service.receipts.count() == receipts  # nothing served, nothing owed
    return error


def _node(paying) -> str:
    return paying.service.node_key.address


def test_no_voucher_is_a_402_that_says_what_to_send(paying):
    _refused(paying, None, "payment_required", VOUCHER_HEADER)


def test_a_garbled_voucher_is_refused(paying):
    _refused(paying, "{not json", "invalid_voucher", "is not a voucher")
    _refused(paying, '{"client": "0x12"}', "invalid_voucher", "is not a voucher")


def test_a_voucher_with_a_bad_signature_is_refused(paying):
    signed = paying.t.sign_voucher(_node(paying), TSR, "alice")
    raised = replace(signed, amount=2 * TSR)  # the amount changed after signing
    _refused(paying, raised, "invalid_voucher", "not signed by")
    by_bob = replace(paying.t.sign_voucher(_node(paying), TSR, "bob"), client=signed.client)
    _refused(paying, by_bob, "invalid_voucher", "not signed by")


def test_a_voucher_for_another_node_chain_or_contract_is_refused(paying):
    t = paying.t
    other_node = t.sign_voucher(t.address("bob"), TSR, "alice")
    _refused(paying, other_node, "invalid_voucher", "this is node")
    alice = t.signer("alice")
    for field, value in (("chain_id", 999), ("settlement", t.address("bob"))):
        forged = replace(
            Voucher(alice.address, _node(paying), TSR, t.chain.chain_id, t.settlement.address),
            **{field: value},
        ).signed_by(alice)
        _refused(paying, forged, "invalid_voucher", "this is node")


def test_an_account_without_escrow_is_told_to_deposit(paying):
    voucher = paying.t.sign_voucher(_node(paying), TSR, "bob")
    hint = f"tessera deposit AMOUNT --node {_node(paying)}"
    _refused(paying, voucher, "insufficient_escrow", hint)


def test_a_voucher_backed_by_another_nodes_channel_is_told_to_deposit_here(paying):
    """Bob's escrow sits in another node's channel: it backs nothing this node serves."""
    t = paying.t
    t.transfer(10 * TSR, "bob")
    t.deposit(5 * TSR, "carol", "bob")  # carol's channel: another node's
    assert t.wallet("bob").escrow == 5 * TSR
    voucher = t.sign_voucher(_node(paying), TSR, "bob")
    error = _refused(paying, voucher, "insufficient_escrow", "to this node holds 0")
    assert f"tessera deposit AMOUNT --node {_node(paying)}" in error["message"]
    assert error["tessera"]["escrow"] == "0" and error["tessera"]["node"] == _node(paying)
    assert paying.service.receipts.voucher(t.address("bob")) is None  # nothing kept to redeem
    t.deposit(TSR, _node(paying), "bob")  # funded here, the same voucher is served
    assert _post(paying, voucher).status_code == 200


def test_too_small_a_voucher_says_how_much_is_missing(paying):
    voucher = paying.t.sign_voucher(_node(paying), 1, "alice")
    error = _refused(paying, voucher, "insufficient_voucher", "is missing")
    details = error["tessera"]
    assert int(details["missing"]) == int(details["required"]) - 1 > 0


def test_a_voucher_below_what_was_redeemed_is_refused(paying, alice):
    alice.ask("Who founded the Ulora Brewery?")
    paying.t.settle_epoch("operator")
    redeemed = paying.t.settlement.redeemed(paying.t.address("alice"), _node(paying))
    assert redeemed > 0
    stale = paying.t.sign_voucher(_node(paying), redeemed - 1, "alice")
    _refused(paying, stale, "voucher_below_redeemed", "already redeemed")


def test_a_pending_withdrawal_is_not_spendable(paying):
    t = paying.t
    t.request_withdrawal(t.wallet("alice").escrow, "operator", "alice")
    voucher = t.sign_voucher(_node(paying), TSR, "alice")
    _refused(paying, voucher, "insufficient_escrow", "being withdrawn")


def test_the_node_keeps_serving_a_good_voucher_after_bad_ones(paying, alice):
    _refused(paying, None, "payment_required", VOUCHER_HEADER)
    assert alice.ask("Who founded the Ulora Brewery?").receipt.price > 0


def test_the_python_client_without_a_payer_surfaces_the_402(paying):
    client = NodeClient(paying.url)
    with pytest.raises(NodeError, match="402") as raised:
        client.ask("Who founded the Ulora Brewery?")
    client.close()
    assert raised.value.status == 402


def test_only_the_node_account_can_settle_its_receipts(paying, alice):
    alice.ask("Who founded the Ulora Brewery?")
    # each node account has its own database: another account finds nothing of this node's
    assert paying.t.settle_epoch("default") is None
    assert paying.t.settlement.epoch_count(_node(paying)) == 0
    assert paying.t.settle_epoch("operator").receipts == 1

"""A client's escrow from the account page: deposit, ask to withdraw, and the refusals (an
amount that is not a number, a node that is not an address) that leave the escrow as it was."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, client_for, csrf_of
from money_helpers import TSR, advance_home_chain


@pytest.fixture
def signed_in(web_home):
    web_home.transfer(50 * TSR, "carol")
    web_home.new_account("node")
    with client_for(web_home) as web:
        token = csrf_of(web.get("/session").text)
        web.post("/session/unlock", data={"csrf": token, "account": "carol", "password": PASSWORD})
        yield web, token


def test_deposit_then_withdraw_through_the_account_page(web_home, signed_in):
    web, token = signed_in
    node = web_home.address("node")
    done = web.post("/wallet/deposit", data={"csrf": token, "node": node, "amount": "12.5"})
    assert done.status_code == 200 and "12.5 TSR" in done.text
    assert web_home.wallet("carol").channel(node).balance == 12 * TSR + TSR // 2
    web.post("/wallet/request-withdrawal", data={"csrf": token, "node": node, "amount": "2"})
    assert web_home.wallet("carol").channel(node).withdrawing == 2 * TSR
    advance_home_chain(web_home, web_home.settlement.periods().withdrawal_delay + 1)
    page = web.post("/wallet/withdraw", data={"csrf": token, "node": node})
    assert page.status_code == 200
    assert web_home.wallet("carol").channel(node).balance == 10 * TSR + TSR // 2


@pytest.mark.parametrize(
    ("node", "amount", "says"),
    [
        (None, "abc", "is not an amount"),
        (None, "-3", "not a positive amount"),
        (None, "", "give an amount"),
        ("not-a-node", "1", "is not a node"),
    ],
)
def test_bad_amounts_and_nodes_move_nothing(web_home, signed_in, node, amount, says):
    web, token = signed_in
    before = web_home.wallet("carol")
    refused = web.post(
        "/wallet/deposit",
        data={"csrf": token, "node": node or web_home.address("node"), "amount": amount},
    )
    assert refused.status_code == 400 and says in refused.text
    assert web_home.wallet("carol") == before


def test_an_unknown_wallet_step_is_404(signed_in):
    web, token = signed_in
    assert web.post("/wallet/steal", data={"csrf": token, "node": "x"}).status_code == 404

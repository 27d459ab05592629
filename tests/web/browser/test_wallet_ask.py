"""A client with a browser wallet (EIP-1193) and no local account asks a paying node: the
wallet signs the request and the voucher, and the answer's page shows the receipt checked;
a wallet that refuses to sign sends nothing and the page says so.

The injected `window.ethereum` forwards every request to `TestWallet`, which holds alice's
real key (alice has 20 TSR in the node's channel) and signs typed data as a wallet does.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from .browser_helpers import LiveSite, seen
from .wallet_helpers import TestWallet

QUESTION = "Who founded the Ulora Brewery?"


@pytest.fixture
def wallet(paying) -> TestWallet:
    return TestWallet(paying.t, "alice")


def _posts(page: Page) -> list[str]:
    """The paths of every POST the page makes from now on."""
    paths: list[str] = []

    def seen_request(request: Request) -> None:
        if request.method == "POST":
            paths.append(request.url.split("/", 3)[3])

    page.on("request", seen_request)
    return paths


def _ask_page(page: Page, site: LiveSite, address: str) -> None:
    page.goto(site.url + "/ask")
    page.get_by_role("button", name="Connect wallet").click()
    expect(page.locator("#wallet-address")).to_have_text(f"Wallet {address[:6]}…{address[-4:]}")
    page.get_by_label("Your question").fill(QUESTION)


def test_a_wallet_asks_and_reads_the_answer(page: Page, paying, paying_site, wallet) -> None:
    t, alice = paying.t, wallet.key.address
    spent = t.payer("alice").spent(paying.service.node_key.address)
    _ask_page(page, paying_site, alice)
    expect(page.get_by_role("button", name="Ask and pay")).to_have_count(0)  # no local account
    seen(page, "ask-wallet")
    posts = _posts(page)
    page.get_by_role("button", name="Ask with wallet").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Answer")
    receipt = t.receipt(page.url.rsplit("/", 1)[1])
    assert receipt.client == alice and receipt.price > 0
    expect(page.locator("#answer-text")).to_have_text(receipt.response_text.strip())
    expect(page.locator("#receipt-status")).to_contain_text("Receipt checked now")
    seen(page, "answer-wallet")
    assert wallet.signed == ["Request", "Voucher"] and wallet.sent == []
    assert posts == ["api/ask/typed-data", "api/ask"]
    assert t.payer("alice").spent(paying.service.node_key.address) == spent + receipt.price


def test_a_wallet_that_refuses_to_sign_sends_nothing(
    page: Page, paying, paying_site, wallet
) -> None:
    t, alice, node = paying.t, wallet.key.address, paying.service.node_key.address
    wallet.refuse = {"eth_signTypedData_v4"}
    receipts, spent = paying.service.receipts.count(), t.payer("alice").spent(node)
    _ask_page(page, paying_site, alice)
    posts = _posts(page)
    ask = page.get_by_role("button", name="Ask with wallet")
    ask.click()
    expect(page.locator("#wallet-status")).to_have_text(
        "You declined in your wallet: nothing was sent."
    )
    expect(ask).to_be_enabled()  # it may be tried again
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask")
    seen(page, "ask-wallet-declined")
    assert posts == ["api/ask/typed-data"]  # the signatures were never sent
    assert wallet.signed == []
    assert paying.service.receipts.count() == receipts
    assert t.payer("alice").spent(node) == spent

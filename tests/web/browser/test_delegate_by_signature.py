"""A holder with a browser wallet and no ETH spent: delegates its votes by signing the token's
EIP-712 Delegation, which the app's relayer sends, and sees the new delegate on the page; a
wallet that refuses to sign leaves the delegation as it was.

The injected `window.ethereum` forwards every request to `TestWallet` in Python, which holds
erin's real key: it signs typed data as a wallet does and sends no transaction here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from money_helpers import TSR
from playwright.sync_api import Page, expect

from tessera.web import WebConfig

from .browser_helpers import LiveSite, seen, serving
from .wallet_helpers import TestWallet

SIGN_BUTTON = "Delegate by signature (no gas)"


@pytest.fixture
def wallet(gov_home) -> TestWallet:
    return TestWallet(gov_home, "erin")


@pytest.fixture
def relaying_site(gov_home) -> Iterator[LiveSite]:
    """The governance home served with its default account relaying signed delegations."""
    with serving(gov_home, WebConfig(relayer="default")) as live:
        yield live


def _open(page: Page, site: LiveSite, address: str) -> None:
    page.goto(f"{site.url}/proposals/new")
    page.get_by_role("button", name="Connect wallet").click()
    expect(page.locator("#wallet-address")).to_have_text(f"Wallet {address[:6]}…{address[-4:]}")


def test_a_wallet_delegates_by_signature_and_sees_its_new_delegate(
    page: Page, relaying_site, wallet
) -> None:
    t, erin = relaying_site.t, wallet.key.address
    t.transfer(10 * TSR, "erin")
    delegatee, eth_before = Account.create().address, t.chain.w3.eth.get_balance(erin)
    _open(page, relaying_site, erin)
    page.get_by_label("Or delegate your wallet's votes by signature to").fill(delegatee)
    page.get_by_role("button", name=SIGN_BUTTON).click()
    done = page.locator("#delegation-done")
    expect(done).to_contain_text(f"Your votes now go to {delegatee}, who has 10 TSR of votes")
    expect(done.get_by_role("link", name="the relayed transaction")).to_be_visible()
    seen(page, "proposal-new-delegated-by-signature")
    assert wallet.signed == ["Delegation"] and wallet.sent == []
    assert t.settlement.token.delegate_of(erin) == delegatee
    assert t.chain.w3.eth.get_balance(erin) == eth_before  # the relayer paid the gas


def test_a_delegation_declined_in_the_wallet_sends_nothing(
    page: Page, relaying_site, wallet
) -> None:
    t, erin = relaying_site.t, wallet.key.address
    wallet.refuse = {"eth_signTypedData_v4"}
    before, nonce = t.settlement.token.delegate_of(erin), t.settlement.token.nonces(erin)
    _open(page, relaying_site, erin)
    button = page.get_by_role("button", name=SIGN_BUTTON)
    button.click()
    expect(page.get_by_role("status")).to_have_text(
        "You declined in your wallet: nothing was sent."
    )
    expect(button).to_be_enabled()  # it may be tried again
    expect(page.locator("#delegation-done")).to_be_hidden()
    assert t.settlement.token.delegate_of(erin) == before
    assert t.settlement.token.nonces(erin) == nonce

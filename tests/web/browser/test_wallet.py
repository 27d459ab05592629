"""A token holder with a browser wallet (EIP-1193) and no local account: connects it, votes
with it and sees the vote counted; a wallet that refuses leaves the chain as it was.

The injected `window.ethereum` forwards every request to `TestWallet` in Python, which holds
carol's real key: it signs transactions as a wallet does and sends them to the in-process chain.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tessera import ProposalState, format_tsr

from .browser_helpers import seen
from .wallet_helpers import TestWallet


@pytest.fixture
def wallet(gov_home) -> TestWallet:
    return TestWallet(gov_home, "carol")


@pytest.fixture
def active(gov_home) -> int:
    """A proposal of the default account's, open for votes."""
    t = gov_home
    proposal = t.gov.propose(t.gov.actions.block_content(["bafk-from-a-wallet"]), "block it")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    return proposal


def _connect(page: Page, url: str, address: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Connect wallet").click()
    expect(page.locator("#wallet-address")).to_have_text(f"Wallet {address[:6]}…{address[-4:]}")


def test_a_wallet_connects_and_votes_and_the_vote_is_counted(
    page: Page, gov_site, wallet, active
) -> None:
    t, carol = gov_site.t, wallet.key.address
    _connect(page, f"{gov_site.url}/proposals/{active}", carol)
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    seen(page, "proposal-wallet")
    page.get_by_label("Reason (optional, up to 256 bytes)").fill("signed in my wallet")
    with page.expect_event("load"):  # app.js reloads the page once the vote is mined
        page.get_by_role("button", name="Vote with your wallet").click()
    votes = t.gov.voting_power("carol")[0]
    expect(page.locator("#wallet-address")).to_have_text(f"Wallet {carol[:6]}…{carol[-4:]}")
    expect(page.locator("#for-votes")).to_have_text(f"{format_tsr(votes)} TSR")
    seen(page, "proposal-wallet-voted")
    assert len(wallet.sent) == 1 and t.transaction_status(wallet.sent[0]) == "succeeded"
    assert t.gov.has_voted(active, carol)
    assert t.gov.status(active).record.for_votes == votes > 0


def test_a_vote_declined_in_the_wallet_sends_nothing(page: Page, gov_site, wallet, active) -> None:
    t, carol = gov_site.t, wallet.key.address
    wallet.refuse = {"eth_sendTransaction"}
    nonce = t.chain.w3.eth.get_transaction_count(carol)
    _connect(page, f"{gov_site.url}/proposals/{active}", carol)
    vote = page.get_by_role("button", name="Vote with your wallet")
    vote.click()
    status = page.get_by_role("status")
    expect(status).to_have_text("You declined in your wallet: nothing was sent.")
    expect(vote).to_be_enabled()  # it may be tried again
    seen(page, "proposal-wallet-declined")
    assert wallet.sent == [] and t.chain.w3.eth.get_transaction_count(carol) == nonce
    assert not t.gov.has_voted(active, carol)
    assert t.gov.status(active).record.for_votes == 0

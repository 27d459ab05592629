"""A token holder with a browser wallet (EIP-1193) and no local account: connects it, votes
with it and sees the vote counted; a wallet that refuses leaves the chain as it was.

The injected `window.ethereum` forwards every request to `TestWallet` in Python, which holds
carol's real key: it signs transactions as a wallet does and sends them to the in-process chain.
(app.js asks a wallet for accounts, the chain id and transactions only, so that is all it does.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tessera import ProposalState, format_tsr

from .browser_helpers import seen

WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    const answer = await window.testWalletRequest(method, params || []);
    if (answer.error) throw answer.error;
    return answer.result;
  },
  on() {},
};
"""
REJECTED = {"code": 4001, "message": "User rejected the request."}


class TestWallet:
    """What a wallet extension does with each request, for one key; `refuse` names the methods
    whose prompt the person declines."""

    __test__ = False  # not a test class: pytest must not collect it

    def __init__(self, t, account: str) -> None:
        self.w3, self.key = t.chain.w3, t.signer(account)
        self.refuse: set[str] = set()
        self.sent: list[str] = []

    def request(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method in self.refuse:
            return {"error": REJECTED}
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.key.address]}
        if method == "eth_chainId":
            return {"result": hex(self.w3.eth.chain_id)}
        if method == "eth_sendTransaction":
            return {"result": self._send(params[0])}
        return {"error": {"code": 4200, "message": f"{method} is not supported"}}

    def _send(self, tx: dict[str, str]) -> str:
        assert tx["from"].lower() == self.key.address.lower()
        full = {
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"], 16),
            "chainId": int(tx["chainId"], 16),
            "nonce": self.w3.eth.get_transaction_count(self.key.address),
            "gasPrice": self.w3.eth.gas_price,
        }
        full["gas"] = self.w3.eth.estimate_gas({**full, "from": self.key.address})
        signed = self.key.sign_transaction(full)
        tx_hash = "0x" + bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
        self.sent.append(tx_hash)
        return tx_hash


@pytest.fixture
def wallet(gov_home) -> TestWallet:
    return TestWallet(gov_home, "carol")


@pytest.fixture
def injected_wallet() -> str:
    return WALLET


@pytest.fixture
def wallet_bindings(wallet) -> dict[str, Callable[..., object]]:
    return {"testWalletRequest": wallet.request}


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

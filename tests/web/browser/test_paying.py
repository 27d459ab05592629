"""Money through a real browser, on a paying node with tiny models: a client asks and reads
the answer with its checked receipt and weighted sources, down to a source's proof; once the
node has settled its epoch and the challenge period has passed, a contributor sees what the
answer earned them and claims it. Each page reached is checked with axe."""

from __future__ import annotations

from contextlib import closing

from money_helpers import advance_home_chain
from playwright.sync_api import Page, expect

from tessera import format_tsr
from tessera._client import NodeClient

from .browser_helpers import main_nav, seen, sign_in

QUESTION = "Who founded the Ulora Brewery?"


def test_a_client_asks_and_follows_a_source_to_its_proof(page: Page, paying_site) -> None:
    t = paying_site.t
    sign_in(page, paying_site.url, "alice")
    main_nav(page, "Ask")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask")
    seen(page, "ask")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask and pay").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Answer")
    receipt = t.receipt(page.url.rsplit("/", 1)[1])
    assert receipt.client == t.address("alice") and receipt.price > 0
    expect(page.locator("#answer-text")).to_have_text(receipt.response_text.strip())
    expect(page.locator("#receipt-status")).to_contain_text("Receipt checked now")
    sources = page.get_by_role("region", name="Sources, by weight").get_by_role("listitem")
    assert receipt.attribution, "the tiny node credited no source"
    expect(sources).to_have_count(len(receipt.attribution))
    first = receipt.attribution[0]
    weight = f"weight {first.weight_ppm / 10_000:.2f}%"
    expect(sources.first.get_by_role("img", name=weight)).to_be_visible()
    seen(page, "answer")

    sources.first.get_by_role("link", name=f"{first.cid[:8]}…{first.cid[-6:]}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contribution")
    expect(page.get_by_text(first.cid, exact=True)).to_be_visible()
    expect(page.get_by_text("Verified now")).to_be_visible()


def test_a_contributor_sees_an_answer_pay_them_and_claims(page: Page, paying, paying_site) -> None:
    t = paying.t
    with closing(NodeClient(paying.url, payer=t.payer("alice"))) as alice:
        receipt = alice.ask(QUESTION).receipt
    contributor = receipt.attribution[0].contributor
    name = next(a.name for a in t.accounts() if a.address.lower() == contributor.lower())
    assert t.settle_epoch("operator") is not None
    advance_home_chain(t, t.settlement.periods().challenge_period + 1)
    claimable = t.earnings(contributor).total("claimable")
    assert claimable > 0
    before = t.wallet(contributor).tokens

    sign_in(page, paying_site.url, name)
    expect(page.locator("#claimable")).to_have_text(f"{format_tsr(claimable)} TSR")
    expect(page.get_by_role("img", name="Earned per epoch")).to_be_visible()
    seen(page, "account-earnings")
    page.get_by_role("button", name=f"Claim {format_tsr(claimable)} TSR").click()
    expect(page.locator("#claimable")).to_have_text("0 TSR")
    expect(page.get_by_role("button", name="Claim", exact=False)).to_have_count(0)
    assert t.wallet(contributor).tokens - before == claimable
    expect(page.locator("#tokens")).to_have_text(f"{format_tsr(before + claimable)} TSR")
    seen(page, "account-claimed")

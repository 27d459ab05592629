"""An answer's receipt checked in the reader's own browser: the answer page recomputes every
hash the node signed from the receipt's JSON and recovers the signer (static/verify-receipt.js),
beside the server's own check. A receipt changed on its way to the page, or an answer shown
other than the one signed, is said not to verify. Each page reached is checked with axe."""

from __future__ import annotations

import json

from playwright.sync_api import Page, Route, expect

from .browser_helpers import LiveSite, main_nav, seen, sign_in

QUESTION = "Who founded the Ulora Brewery?"


def _ask(page: Page, site: LiveSite) -> str:
    """Ask as alice, from the form; the answer page's receipt id."""
    sign_in(page, site.url, "alice")
    main_nav(page, "Ask")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask and pay").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Answer")
    return page.url.rsplit("/", 1)[1]


def _answer_changed(route: Route) -> None:
    """The receipt's JSON as served, its answer text changed on the way."""
    served = route.fetch()
    body = served.json()
    body["response_text"] = "Someone else founded it."
    route.fulfill(response=served, body=json.dumps(body, ensure_ascii=False))


def _shown_changed(route: Route) -> None:
    """The answer page as served, showing a different answer than its receipt's."""
    served = route.fetch()
    html = served.text().replace('id="answer-text">', 'id="answer-text">Not quite: ', 1)
    route.fulfill(response=served, body=html)


def test_the_answer_page_verifies_its_receipt_in_the_browser(page: Page, paying_site) -> None:
    receipt = paying_site.t.receipt(_ask(page, paying_site))
    in_browser = page.get_by_role("status").filter(has_text="in your browser")
    expect(in_browser).to_have_text(
        f"Verified in your browser: signed by {receipt.node}, the node this receipt names "
        "(every hash its signature covers recomputed here from the receipt)."
    )
    expect(page.locator("#receipt-status")).to_contain_text("Receipt checked now by this server")
    seen(page, "answer-verified-in-browser")

    page.route(f"**/receipts/{receipt.id}.json", _answer_changed)
    page.reload()
    expect(in_browser).to_have_text(
        "Does not verify in your browser: the answer text differs from what the node signed "
        "(responseHash)."
    )
    expect(page.locator("#receipt-status")).to_contain_text("Receipt checked now by this server")
    seen(page, "answer-changed-in-transit")

    page.unroute(f"**/receipts/{receipt.id}.json")
    page.route(page.url, _shown_changed)
    page.reload()
    expect(page.locator("#answer-text")).to_contain_text("Not quite: ")
    expect(in_browser).to_have_text(
        "Does not verify in your browser: the answer shown here is not the one the node signed."
    )

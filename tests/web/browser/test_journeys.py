"""What a person does in a real browser: browse from the overview to a contributor, sign in
(and be refused), page through a long datanet, read hostile on-chain text as text. Each page
reached is checked with axe; links are followed by their text and role, never by URL."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .browser_helpers import HOSTILE, PASSWORD, main_nav, seen, short


def _cids(page: Page) -> list[str]:
    table = page.get_by_role("region", name="Contributions, newest first").get_by_role("table")
    return [
        row.get_by_role("link").first.get_attribute("title") or ""
        for row in table.get_by_role("row").all()[1:]
    ]


def test_anyone_browses_from_the_overview_to_a_contributor(page: Page, site) -> None:
    carol = site.t.address("carol")
    page.goto(site.url + "/")
    seen(page, "overview")
    main_nav(page, "Datanets")
    expect(page.get_by_role("heading", level=1)).to_have_text("Datanets")
    seen(page, "datanets")
    page.get_by_role("link", name="facts", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Datanet facts")
    seen(page, "datanet")
    contributions = page.get_by_role("region", name="Contributions, newest first")
    contributions.get_by_role("row").nth(1).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contribution")
    expect(page.get_by_text("Verified now")).to_be_visible()
    expect(page.locator("pre.content")).to_contain_text(re.compile("Ulora|Pleno|Juora"))
    seen(page, "contribution")
    page.get_by_role("link", name=short(carol)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account")
    expect(page.get_by_text(carol, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Contributions (7)")).to_be_visible()
    seen(page, "account")


def test_anyone_follows_the_latest_block_to_a_transaction(page: Page, site) -> None:
    page.goto(site.url + "/")
    page.get_by_role("link", name=re.compile(r"^#\d+$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Block \d+$"))
    seen(page, "block")
    page.get_by_role("table").get_by_role("row").nth(1).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Transaction")
    expect(page.get_by_text("succeeded", exact=True)).to_be_visible()
    seen(page, "tx")
    main_nav(page, "Models")
    expect(page.get_by_text("No model is published yet")).to_be_visible()
    seen(page, "models")


def test_a_person_signs_in_with_a_local_account_and_locks_it(page: Page, site) -> None:
    carol = site.t.address("carol")
    page.goto(site.url + "/")
    page.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    seen(page, "session")
    page.get_by_label("Account", exact=True).select_option("carol")
    page.get_by_label("Keystore password").fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account")
    expect(page.get_by_text(carol, exact=True)).to_be_visible()
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link", name=f"carol ({short(carol)})")).to_be_visible()
    expect(page.get_by_role("button", name="Deposit")).to_be_visible()  # only on one's own
    seen(page, "account-signed-in")
    banner.get_by_role("button", name="Lock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(banner.get_by_role("link", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused_and_unlocks_nothing(page: Page, site) -> None:
    page.goto(site.url + "/session")
    page.get_by_label("Account", exact=True).select_option("carol")
    page.get_by_label("Keystore password").fill("not the password")
    with page.expect_response(re.compile(r"/session/unlock$")) as answer:
        page.get_by_role("button", name="Unlock").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    seen(page, "refused")
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link", name="Sign in")).to_be_visible()
    expect(banner.get_by_role("button", name="Lock")).to_have_count(0)
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def test_a_long_datanet_pages_through_every_contribution(page: Page, small_pages) -> None:
    page.goto(small_pages.url + "/")
    main_nav(page, "Datanets")
    page.get_by_role("link", name="recipes", exact=True).click()
    pages = page.get_by_role("navigation", name="Pages")
    expect(pages).to_contain_text("page 1 of 4 (7 in all)")
    expect(pages.get_by_role("link", name="Previous")).to_have_count(0)
    shown = _cids(page)
    pages.get_by_role("link", name="Next").click()
    expect(pages).to_contain_text("page 2 of 4")
    expect(pages.get_by_role("link", name="Previous")).to_be_visible()
    seen(page, "datanet-page-2")
    shown += _cids(page)
    while pages.get_by_role("link", name="Next").count():
        pages.get_by_role("link", name="Next").click()
        shown += _cids(page)
    expect(pages).to_contain_text("page 4 of 4")
    newest_first = [c.cid for c in small_pages.t.datanet("recipes").contributions[::-1]]
    assert shown == newest_first


def test_markup_in_a_datanet_description_shows_as_text(page: Page, site) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(site.url + "/")
    main_nav(page, "Datanets")
    page.get_by_role("link", name="hostile", exact=True).click()
    expect(page.get_by_text(HOSTILE, exact=True)).to_be_visible()
    assert page.get_by_role("main").locator("img").count() == 0
    seen(page, "datanet-hostile")
    assert dialogs == []


def test_a_keyboard_user_skips_the_header_to_the_content(page: Page, site) -> None:
    page.goto(site.url + "/datanets")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "focused but off screen"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.keyboard.press("Tab")  # the first link after the skip target is in the content
    expect(page.get_by_role("main").get_by_role("link", name="facts", exact=True)).to_be_focused()

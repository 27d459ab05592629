"""A token holder changes the settlement's periods from a real browser: proposes a shorter
epoch from its form (the fields left empty keep what is in force), reads the change in words
on the proposal's page, votes, queues and executes it, and sees it in force on Parameters.
Each page reached is checked with axe."""

from __future__ import annotations

from money_helpers import advance_home_chain
from playwright.sync_api import Page, expect

from tessera import ProposalState

from .browser_helpers import seen, sign_in

EPOCH = "1800"  # seconds: half the default epoch


def _after(t, seconds: int, page: Page) -> None:
    """Let `seconds` of chain time pass, then show the page as it is now."""
    advance_home_chain(t, seconds + 1)
    page.reload()


def test_a_holder_shortens_the_epoch_and_sees_it_in_force(page: Page, gov_site) -> None:
    t = gov_site.t
    settings, before = t.gov.parameters().settings, t.gov.parameters().periods
    sign_in(page, gov_site.url, "default")
    page.goto(gov_site.url + "/proposals/new")
    periods = page.locator("form").filter(
        has=page.get_by_role("heading", name="Settlement periods")
    )
    periods.get_by_label("Description").fill("Settle twice as often.")
    periods.get_by_label("Epoch length: seconds").fill(EPOCH)
    periods.get_by_role("button", name="Propose").click()

    expect(page.locator("#state")).to_have_text("pending")
    number = int(page.url.rsplit("/", 1)[1])
    words = f"Set the settlement periods: a node's epochs at least {EPOCH} s apart"
    expect(page.get_by_text(words)).to_be_visible()
    call = (
        f"settlement.set_periods(epoch_length={EPOCH}, challenge_period="
        f"{before.challenge_period}, withdrawal_delay={before.withdrawal_delay})"
    )
    expect(page.get_by_text(call)).to_be_visible()
    seen(page, "proposal-periods")

    _after(t, settings.voting_delay, page)
    page.get_by_role("button", name="Vote as default").click()
    expect(page.locator("#voted")).to_be_visible()
    _after(t, settings.voting_period, page)
    page.get_by_role("button", name="Queue it", exact=True).click()
    expect(page.locator("#state")).to_have_text("queued")
    _after(t, settings.timelock_delay, page)
    page.get_by_role("button", name="Execute it", exact=True).click()
    expect(page.locator("#state")).to_have_text("executed")
    assert t.gov.status(number).state == ProposalState.EXECUTED

    page.goto(gov_site.url + "/parameters")
    expect(page.locator("#epoch-length")).to_have_text(f"{EPOCH} s between a node's epochs")
    expect(page.locator("#withdrawal-delay")).to_contain_text(f"{before.withdrawal_delay} s")
    assert t.settlement.periods().epoch_length == int(EPOCH)

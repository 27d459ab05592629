"""A token holder governs from a real browser with a local account: proposes a new training
weight, votes for it, queues and executes it as the chain's clock moves on, and sees it in
force on Parameters; a holder without votes is told why the governor refuses, and nothing is
proposed. Each page reached is checked with axe."""

from __future__ import annotations

import re

from money_helpers import advance_home_chain
from playwright.sync_api import Page, expect

from tessera import ProposalState

from .browser_helpers import main_nav, seen, sign_in

WEIGHT = "25000"  # bps: a nat of training gain counts 2.5× one from the prompt's context


def _heading(page: Page):
    return page.get_by_role("heading", level=1)


def _after(t, seconds: int, page: Page) -> None:
    """Let `seconds` of chain time pass, then show the page as it is now."""
    advance_home_chain(t, seconds + 1)
    page.reload()


def test_a_holder_proposes_votes_queues_and_executes_a_new_weight(page: Page, gov_site) -> None:
    t = gov_site.t
    settings = t.gov.parameters().settings
    sign_in(page, gov_site.url, "default")
    main_nav(page, "Governance")
    expect(_heading(page)).to_have_text("Proposals")
    page.get_by_role("link", name="Propose a change").click()
    expect(_heading(page)).to_have_text("New proposal")
    seen(page, "proposal-new")
    weight = page.locator("form").filter(has=page.get_by_role("heading", name="Training weight"))
    weight.get_by_label("Description").fill("Count what adapters learned in training more.")
    weight.get_by_label("Weight of an adapter's training").fill(WEIGHT)
    weight.get_by_role("button", name="Propose").click()

    expect(_heading(page)).to_have_text(re.compile(r"^Proposal \d+$"))
    number = int(page.url.rsplit("/", 1)[1])
    state = page.locator("#state")
    expect(state).to_have_text("pending")
    expect(page.get_by_text(f"policy.set_training_weight(weight_bps={WEIGHT})")).to_be_visible()
    seen(page, "proposal-pending")

    _after(t, settings.voting_delay, page)
    expect(state).to_have_text("active")
    page.get_by_label("Reason (optional, up to 256 bytes)").fill("training data deserves it")
    page.get_by_role("button", name="Vote as default").click()
    expect(page.locator("#voted")).to_have_text("default has voted on this proposal.")
    votes = t.gov.voting_power("default")[0]
    assert t.gov.has_voted(number, t.address("default"))
    assert t.gov.status(number).record.for_votes == votes
    seen(page, "proposal-voted")

    _after(t, settings.voting_period, page)
    expect(state).to_have_text("succeeded")
    page.get_by_role("button", name="Queue it", exact=True).click()
    expect(state).to_have_text("queued")
    expect(page.get_by_text("Queued: it may run from")).to_be_visible()
    seen(page, "proposal-queued")

    _after(t, settings.timelock_delay, page)
    page.get_by_role("button", name="Execute it", exact=True).click()
    expect(state).to_have_text("executed")
    assert t.gov.status(number).state == ProposalState.EXECUTED

    main_nav(page, "Parameters")
    expect(_heading(page)).to_have_text("Parameters")
    expect(page.locator("#training-weight")).to_contain_text(f"{WEIGHT} bps")
    seen(page, "parameters")


def test_a_proposal_without_votes_behind_it_is_refused_and_not_made(page: Page, gov_site) -> None:
    t = gov_site.t
    before = t.gov.governor.count()
    sign_in(page, gov_site.url, "erin")
    page.goto(gov_site.url + "/proposals/new")
    expect(page.locator("#votes")).to_have_text("0 TSR")
    weight = page.locator("form").filter(has=page.get_by_role("heading", name="Training weight"))
    weight.get_by_label("Description").fill("Count training ten times over.")
    weight.get_by_label("Weight of an adapter's training").fill("100000")
    with page.expect_response(re.compile(r"/proposals$")) as answer:
        weight.get_by_role("button", name="Propose").click()
    assert answer.value.status == 400
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("proposer votes below threshold")
    expect(refusal).to_contain_text("delegate")
    seen(page, "proposal-refused")
    assert t.gov.governor.count() == before

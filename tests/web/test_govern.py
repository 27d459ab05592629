"""The token holder's pages: proposals list and show what the chain holds, escaped; a holder
delegates, proposes, votes, queues and executes through forms and the parameters change;
bad input and unsigned or forged forms are refused with nothing sent to the chain."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, client_for, csrf_of
from gov_helpers import enact
from money_helpers import TSR, advance_home_chain

from tessera import ProposalState

HOSTILE = 'Block it <script>alert("x")</script> & <b>now</b>'


def _signed_in(t, account: str):
    client = client_for(t)
    token = csrf_of(client.get("/session").text)
    unlocked = client.post(
        "/session/unlock",
        data={"account": account, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert unlocked.status_code == 303
    return client


@pytest.fixture
def holder(web_home):
    """A client signed in as the home's default account: it holds the token supply, its votes
    delegated to itself when the home was made."""
    with _signed_in(web_home, "default") as client:
        yield client


@pytest.fixture
def carol(web_home):
    """A client signed in as carol, who holds no tokens and so has no votes."""
    with _signed_in(web_home, "carol") as client:
        yield client


def _post(client, path: str, **fields: str):
    token = csrf_of(client.get("/proposals/new").text)
    return client.post(path, data={"csrf": token, **fields}, follow_redirects=False)


def _propose_weight(client, weight: str, description: str = "train counts double"):
    return _post(
        client, "/proposals", kind="training-weight", weight_bps=weight, description=description
    )


def _pass_time(t, seconds: int) -> None:
    advance_home_chain(t, seconds + 1)


def test_the_list_and_the_detail_escape_a_proposal_description(web, web_home):
    t = web_home
    proposal = t.gov.propose(t.gov.actions.block_content(["bafk-example"]), HOSTILE)
    listed = web.get("/proposals")
    assert listed.status_code == 200
    assert f'href="/proposals/{proposal}"' in listed.text and "pending" in listed.text
    detail = web.get(f"/proposals/{proposal}")
    assert detail.status_code == 200
    for page in (listed.text, detail.text):
        assert "<script>alert" not in page and "<b>now</b>" not in page
        assert "&lt;script&gt;" in page
    assert "policy.block_content(cid=bafk-example)" in detail.text
    assert f'href="/accounts/{t.address()}"' in detail.text
    assert "UTC" in detail.text and 'href="/tx/0x' in detail.text  # created, in its transaction
    assert 'action="/proposals/1/vote"' not in detail.text  # pending, and nobody signed in


def test_the_list_is_paginated_newest_first(web_home):
    t = web_home
    for n in range(3):
        t.gov.propose(t.gov.actions.training_weight(20_000 + n), f"weight {n}")
    with client_for(t, page_size=2) as web:
        first = web.get("/proposals").text
        assert first.index('href="/proposals/3"') < first.index('href="/proposals/2"')
        assert 'href="/proposals/1"' not in first and "page 1 of 2" in first
        assert 'href="/proposals/1"' in web.get("/proposals?page=2").text


def test_a_holder_delegates_proposes_votes_queues_and_executes(carol, web_home):
    t, holder = web_home, carol
    settings = t.gov.parameters().settings
    t.transfer(100_000_000 * TSR, "carol")  # a tenth of the supply: past the quorum alone
    assert t.gov.voting_power("carol")[0] == 0
    assert "nobody yet: delegate" in holder.get("/proposals/new").text
    assert _post(holder, "/gov/delegate").status_code == 303
    assert t.gov.voting_power("carol") == (100_000_000 * TSR, t.address("carol"))
    assert 'id="votes">100000000 TSR' in holder.get("/proposals/new").text

    created = _propose_weight(holder, "20000")
    assert created.status_code == 303
    proposal = int(created.headers["location"].rsplit("/", 1)[1])
    assert t.gov.status(proposal).changes == ("policy.set_training_weight(weight_bps=20000)",)

    _pass_time(t, settings.voting_delay)
    page = holder.get(f"/proposals/{proposal}").text
    assert f'action="/proposals/{proposal}/vote"' in page
    assert "policy.set_training_weight(weight_bps=20000)" in page
    voted = _post(holder, f"/proposals/{proposal}/vote", support="for", reason="more for training")
    assert voted.status_code == 303 and t.gov.has_voted(proposal, t.address("carol"))
    page = holder.get(f"/proposals/{proposal}").text
    assert 'id="voted"' in page and re.search(r'<rect class="for" x="0" y="0" width="100', page)

    _pass_time(t, settings.voting_period)
    assert _post(holder, f"/proposals/{proposal}/queue").status_code == 303
    assert t.gov.status(proposal).state == ProposalState.QUEUED
    _pass_time(t, settings.timelock_delay)
    assert _post(holder, f"/proposals/{proposal}/execute").status_code == 303
    assert t.gov.status(proposal).state == ProposalState.EXECUTED

    shown = holder.get("/parameters")
    assert shown.status_code == 200
    assert 'id="training-weight">20000 bps' in shown.text
    assert t.config.deployment.policy in shown.text  # where the figure comes from


def test_the_parameters_say_which_contract_holds_each(web, web_home):
    page = web.get("/parameters").text
    deployment = web_home.config.deployment
    for contract in ("settlement", "governor", "timelock", "policy", "staking"):
        assert getattr(deployment, contract) in page
    staking = web_home.gov.parameters().staking
    assert 'id="training-weight">10000 bps' in page and staking.slasher in page


def test_a_fee_split_and_a_block_are_proposed_from_their_forms(holder, web_home):
    t = web_home
    split = {"node_bps": "5000", "owner_bps": "1000", "contributors_bps": "3000",
             "treasury_bps": "1000", "validators_bps": "0"}  # fmt: skip
    assert _post(holder, "/proposals", kind="fee-split", description="more to contributors",
                 **split).status_code == 303  # fmt: skip
    (change,) = t.gov.status(1).changes
    assert change.startswith("settlement.set_fee_split(") and "3000" in change
    blocked = _post(holder, "/proposals", kind="block-content", cids="bafk-a\n\nbafk-b\n",
                    description="remove these")  # fmt: skip
    assert blocked.status_code == 303
    assert len(t.gov.status(2).changes) == 2


WEIGHT = {"kind": "training-weight", "description": "x"}
UNEVEN_SPLIT = {"kind": "fee-split", "description": "x", "node_bps": "9000", "owner_bps": "0",
                "contributors_bps": "0", "treasury_bps": "0", "validators_bps": "0"}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({**WEIGHT, "weight_bps": "lots"}, "not a whole"),
        ({**WEIGHT, "weight_bps": "-5"}, "not a whole"),
        ({**WEIGHT, "weight_bps": ""}, "not a whole"),
        ({**WEIGHT, "weight_bps": "20000", "description": " "}, "is empty"),
        ({**WEIGHT, "weight_bps": "10000"}, "in force"),
        ({**WEIGHT, "weight_bps": "999999"}, "between 0 and 100,000"),
        ({"kind": "unblock-content", "cids": "bafk-free", "description": "x"}, "not blocked"),
        ({"kind": "block-content", "cids": "\n", "description": "x"}, "one contribution CID"),
        (UNEVEN_SPLIT, "add up to"),
        ({"kind": "coup", "description": "x"}, "no kind of proposal"),
    ],
)
def test_bad_proposals_are_refused_with_a_sentence_and_nothing_sent(holder, web_home, fields, said):
    refused = _post(holder, "/proposals", **fields)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert said in refused.text
    assert web_home.gov.proposals() == []


def test_a_proposer_below_the_threshold_is_told_to_delegate(carol, web_home):
    refused = _propose_weight(carol, "20000")
    assert refused.status_code == 400
    assert "proposer votes below threshold" in refused.text and "delegate" in refused.text
    assert web_home.gov.proposals() == []


def test_forms_without_a_token_or_an_unlocked_account_are_refused(web, holder, web_home):
    forged = holder.post(
        "/proposals",
        data={"kind": "training-weight", "weight_bps": "20000", "description": "x"},
    )
    assert forged.status_code == 403 and "security token" in forged.text
    token = csrf_of(web.get("/session").text)
    unsigned = web.post(
        "/proposals",
        data={"csrf": token, "kind": "training-weight", "weight_bps": "20000", "description": "x"},
    )
    assert unsigned.status_code == 403 and "no account is unlocked" in unsigned.text
    assert web.post("/gov/delegate", data={"csrf": token, "to": "carol"}).status_code == 403
    assert web_home.gov.proposals() == [] and web_home.gov.voting_power("carol")[0] == 0


def test_a_second_vote_is_refused_with_the_governors_hint(holder, web_home):
    t = web_home
    proposal = int(_propose_weight(holder, "20000").headers["location"].rsplit("/", 1)[1])
    _pass_time(t, t.gov.parameters().settings.voting_delay)
    assert _post(holder, f"/proposals/{proposal}/vote", support="for").status_code == 303
    before = t.gov.status(proposal).record
    again = _post(holder, f"/proposals/{proposal}/vote", support="against")
    assert again.status_code == 400
    assert "vote already cast" in again.text and "votes once per proposal" in again.text
    after = t.gov.status(proposal).record
    assert (after.for_votes, after.against_votes) == (before.for_votes, before.against_votes)
    assert after.against_votes == 0


def test_bad_proposal_numbers_and_steps_are_refused(holder, web):
    assert web.get("/proposals/abc").status_code == 400
    assert web.get("/proposals/7").status_code == 404
    assert _post(holder, "/proposals/1/vote", support="maybe").status_code == 400
    assert _post(holder, "/proposals/1/explode").status_code == 404


def test_only_the_proposer_is_offered_a_cancel_and_cancelling_withdraws_it(holder, carol, web_home):
    t = web_home
    proposal = t.gov.propose(t.gov.actions.training_weight(20_000), "changed my mind")
    assert f'action="/proposals/{proposal}/cancel"' not in carol.get(f"/proposals/{proposal}").text
    refused = _post(carol, f"/proposals/{proposal}/cancel")
    assert refused.status_code == 400 and "only the proposer can cancel" in refused.text
    assert f'action="/proposals/{proposal}/cancel"' in holder.get(f"/proposals/{proposal}").text
    assert _post(holder, f"/proposals/{proposal}/cancel").status_code == 303
    assert t.gov.status(proposal).state == ProposalState.CANCELED


# every kind `tessera gov propose` offers, proposed from its form on the new-proposal page

DIGEST = "ab" * 32  # a model version's weights digest
RAW = bytes.fromhex(DIGEST)
ZERO = "0x" + "00" * 20


def _proposed(client, kind: str, **fields: str) -> int:
    """Propose from the `kind` form; the new proposal's number."""
    made = _post(client, "/proposals", kind=kind, description=f"a {kind} change", **fields)
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


def _calls(t, proposal: int) -> list[tuple[str, str, dict]]:
    return [(c.contract, c.function, c.args) for c in t.gov.status(proposal).calls]


def test_every_field_on_the_new_proposal_page_has_its_label(holder, web_home):
    web_home.create_datanet("recipes", "CC0-1.0")
    enact(web_home, web_home.gov.actions.block_datanet("facts"))  # both datanet forms show
    page = holder.get("/proposals/new").text
    fields = re.findall(r'<(?:input|select|textarea) id="([^"]+)"', page)
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert len(fields) == len(set(fields)) > 30  # ids are unique across the forms
    assert set(fields) <= labelled, set(fields) - labelled
    kinds = set(re.findall(r'name="kind" value="([^"]+)"', page))
    assert kinds == {"fee-split", "periods", "staking", "training-weight", "approve-model",
                     "revoke-model", "block-content", "unblock-content", "block-datanet",
                     "unblock-datanet", "settings"}  # fmt: skip


def test_settlement_periods_are_proposed_with_those_left_empty_kept(holder, web_home):
    t = web_home
    proposal = _proposed(
        holder, "periods", epoch_length="600", challenge_period="", withdrawal_delay="1200"
    )
    kept = t.gov.parameters().periods.challenge_period
    periods = {"epoch_length": 600, "challenge_period": kept, "withdrawal_delay": 1200}
    assert _calls(t, proposal) == [("settlement", "set_periods", periods)]
    page = holder.get(f"/proposals/{proposal}").text
    assert "a node&#39;s epochs at least 600 s apart" in page
    assert f"a challenge period of {kept} s" in page and "withdrawal delay of 1200 s" in page


def test_staking_parameters_are_proposed_with_a_slasher_named_by_account(holder, web_home):
    t = web_home
    proposal = _proposed(
        holder, "staking", min_stake="5.5", unbonding_delay="86400", slasher="carol"
    )
    carol = t.address("carol")
    assert _calls(t, proposal) == [
        ("staking", "set_min_stake", {"min_stake": 5_500_000_000_000_000_000}),
        ("staking", "set_unbonding_delay", {"unbonding_delay": 86_400}),
        ("staking", "set_slasher", {"slasher": carol}),
    ]
    page = holder.get(f"/proposals/{proposal}").text
    assert "bonded to be chosen to 5.5 TSR." in page and "wait at least 86400 s." in page
    assert f"Let {carol}, and only it, slash stake." in page
    nobody = _proposed(holder, "staking", slasher="NONE")
    assert _calls(t, nobody) == [("staking", "set_slasher", {"slasher": ZERO})]
    assert "Let nobody slash stake." in holder.get(f"/proposals/{nobody}").text


def test_a_model_is_approved_with_its_owner_and_then_revoked(holder, web_home):
    t = web_home
    approve = {"model_id": "tiny-gpt", "weights_digest": "0x" + DIGEST.upper()}
    proposal = _proposed(holder, "approve-model", owner="carol", **approve)
    carol, version = t.address("carol"), {"model_id": "tiny-gpt", "weights_digest": RAW}
    assert _calls(t, proposal) == [("policy", "approve_model", {**version, "owner": carol})]
    shown = holder.get(f"/proposals/{proposal}").text
    assert f"Approve model tiny-gpt with weights digest 0x{DIGEST}; its royalty" in shown
    assert f"is paid to {carol}." in shown

    enact(t, t.gov.actions.approve_model("tiny-gpt", DIGEST))
    revoke = _proposed(holder, "revoke-model", model_id="tiny-gpt", weights_digest=DIGEST)
    assert _calls(t, revoke) == [("policy", "revoke_model", version)]
    shown = holder.get(f"/proposals/{revoke}").text
    assert f"Withdraw the approval of model tiny-gpt with weights digest 0x{DIGEST}." in shown


def test_a_datanet_is_blocked_and_then_unblocked_by_its_name(holder, web_home):
    t = web_home
    facts = t.registry.datanet_id("facts")
    assert 'id="block-datanet-datanet"' in holder.get("/proposals/new").text
    proposal = _proposed(holder, "block-datanet", datanet="facts")
    assert _calls(t, proposal) == [("policy", "block_datanet", {"datanet": facts})]
    page = holder.get(f"/proposals/{proposal}").text
    assert f"Block every contribution of datanet facts (#{facts})." in page

    enact(t, t.gov.actions.block_datanet("facts"))
    offered = holder.get("/proposals/new").text
    assert 'id="unblock-datanet-datanet"' in offered and "Every datanet is blocked" in offered
    unblock = _proposed(holder, "unblock-datanet", datanet="facts")
    assert _calls(t, unblock) == [("policy", "unblock_datanet", {"datanet": facts})]
    shown = holder.get(f"/proposals/{unblock}").text
    assert f"Lift the block on datanet facts (#{facts})." in shown


def test_governance_settings_are_proposed_one_call_each_that_changes(holder, web_home):
    t = web_home
    changed = {"voting_period": "120", "timelock_delay": "45", "proposal_threshold": "500"}
    proposal = _proposed(holder, "settings", quorum_bps="", **changed)
    assert _calls(t, proposal) == [
        ("governor", "set_voting_period", {"new_value": 120}),
        ("governor", "set_proposal_threshold", {"new_value": 500 * TSR}),
        ("timelock", "update_delay", {"new_delay": 45}),
    ]
    page = holder.get(f"/proposals/{proposal}").text
    assert "Keep voting open for 120 s after the snapshot." in page
    assert "Require 500 TSR of votes delegated to a proposer to propose." in page
    assert "wait 45 s in the timelock to run." in page
    assert "timelock.update_delay(new_delay=45)" in page  # and the call itself, below


PERIODS = {"kind": "periods", "description": "x"}
STAKING = {"kind": "staking", "description": "x"}
APPROVE = {"kind": "approve-model", "description": "x", "model_id": "m", "weights_digest": DIGEST}
SETTINGS = {"kind": "settings", "description": "x"}


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({**PERIODS, "epoch_length": "soon"}, "not a whole number: give whole seconds"),
        ({**PERIODS, "epoch_length": "1.5"}, "not a whole number"),
        ({**PERIODS, "epoch_length": "0"}, "between 1 s and"),
        ({**PERIODS, "withdrawal_delay": "100"}, "must exceed the epoch"),
        ({**PERIODS, "epoch_length": "", "withdrawal_delay": " "}, "ones in force"),
        ({**STAKING, "min_stake": "lots"}, "is not an amount"),
        ({**STAKING, "min_stake": "0"}, "not a positive amount"),
        ({**STAKING, "unbonding_delay": "10800"}, "the one in force"),
        ({**STAKING, "slasher": "0x12"}, "is not an address: give 0x and 40 hex digits"),
        ({**STAKING, "slasher": "ghost"}, "neither an address nor an account"),
        (STAKING, "give a minimum stake, an unbonding delay or a slasher"),
        ({**APPROVE, "weights_digest": "0x12"}, "not a weights digest"),
        ({**APPROVE, "model_id": " "}, "is empty"),
        ({**APPROVE, "owner": "0x" + "zz" * 20}, "is not an address"),
        ({**APPROVE, "kind": "revoke-model"}, "is not approved"),
        ({"kind": "unblock-datanet", "datanet": "facts", "description": "x"}, "is not blocked"),
        ({"kind": "block-datanet", "datanet": "", "description": "x"}, "is empty"),
        ({**SETTINGS, "quorum_bps": "6000"}, "give 0 to 5,000"),
        ({**SETTINGS, "voting_delay": "-1"}, "not a whole number"),
        ({**SETTINGS, "proposal_threshold": "abc"}, "is not an amount"),
        ({**SETTINGS, "quorum_bps": "400"}, "nothing to propose"),
        (SETTINGS, "nothing to propose"),
        ({**UNEVEN_SPLIT, "node_bps": "10000", "treasury": "0x123"}, "is not an address"),
    ],
)
def test_bad_proposals_of_every_kind_are_refused_and_nothing_sent(holder, web_home, fields, said):
    refused = _post(holder, "/proposals", **fields)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert said in refused.text
    assert web_home.gov.proposals() == []


def test_an_unknown_datanet_is_not_found_and_nothing_sent(holder, web_home):
    refused = _post(holder, "/proposals", kind="block-datanet", datanet="nope", description="x")
    assert refused.status_code == 404 and "no datanet named &#39;nope&#39;" in refused.text
    assert web_home.gov.proposals() == []


@pytest.mark.parametrize(
    "fields",
    [
        {**PERIODS, "epoch_length": "600", "withdrawal_delay": "1200"},
        {**STAKING, "unbonding_delay": "86400"},
        APPROVE,
        {"kind": "block-datanet", "datanet": "facts", "description": "x"},
        {**SETTINGS, "voting_period": "120"},
    ],
    ids=lambda fields: fields["kind"],
)
def test_every_kind_below_the_threshold_is_refused_by_the_governor(carol, web_home, fields):
    refused = _post(carol, "/proposals", **fields)
    assert refused.status_code == 400
    assert "proposer votes below threshold" in refused.text and "delegate" in refused.text
    assert web_home.gov.proposals() == []

"""The operator's and validator's pages: every node with its stake and live health, the
validators, a node's posted epochs and challenges, one epoch audited; and what is refused."""

from __future__ import annotations

import pytest
from conftest import client_for
from gov_helpers import enact
from money_helpers import TSR
from node_helpers import start_node

from tessera import NodeClient, format_tsr
from tessera._payments.bundle import load_bundle

STAKE = 1_000 * TSR  # the default minimum, for a node and a validator alike
QUESTIONS = ["Who founded the Ulora Brewery?", "When was the Lunqui Brewery founded?"]


@pytest.fixture(scope="module")
def network(tmp_path_factory, wide_generator, tiny_embedder):
    """A registered paying node that answered twice and posted epoch 0, and a validator
    that challenged that epoch's first receipt as withheld."""
    live = start_node(tmp_path_factory.mktemp("net"), wide_generator, tiny_embedder,
                      account="operator", authors=("carol", "dave"), payments=True,
                      settle_check_s=None)  # fmt: skip
    t = live.t
    for name in ("alice", "v1"):
        t.new_account(name)
        t.transfer(2 * STAKE, name)
    approve = t.gov.actions.approve_model(
        live.service.config.model_id, live.service.weights_digest, t.address("operator")
    )
    enact(t, approve, "approve the served model")
    t.transfer(STAKE, "operator")
    t.register_node(live.url, STAKE, "operator")
    t.deposit(20 * TSR, "operator", "alice")
    client = NodeClient(live.url, payer=t.payer("alice"))
    for question in QUESTIONS:
        client.ask(question)
    client.close()
    assert t.settle_epoch("operator").epoch == 0
    t.stake_validator(STAKE, "v1")
    t.disputes.challenge_withheld(t.signer("v1"), t.address("operator"), 0, 0)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def web(network):
    with client_for(network.t) as client:
        yield client


def test_the_network_page_lists_the_node_its_stake_health_and_the_validators(network, web):
    t, node = network.t, network.t.address("operator")
    page = web.get("/nodes")
    assert page.status_code == 200
    assert f'href="/nodes/{node}"' in page.text
    assert f"{format_tsr(STAKE)} TSR" in page.text
    assert "eligible" in page.text and ">answers<" in page.text  # probed live
    assert f'href="/models/{network.service.config.model_id}"' in page.text
    validators = page.text.split('id="validators"', 1)[1]
    assert f'href="/accounts/{t.address("v1")}"' in validators
    assert "withheld" in page.text  # the recent challenge, linked to its epoch
    assert f'href="/nodes/{node}/epochs/0"' in page.text
    assert '<a href="/nodes">1</a>' in web.get("/").text  # the overview counts it


def test_a_node_page_lists_its_epochs_challenges_and_health(network, web):
    t, node = network.t, network.t.address("operator")
    page = web.get(f"/nodes/{node}")
    assert page.status_code == 200
    assert f'href="/nodes/{node}/epochs/0"' in page.text
    posted = t.settlement.epoch(node, 0)
    assert posted.receipt_count == len(QUESTIONS)
    assert f"{format_tsr(posted.redeemed)} TSR" in page.text
    assert "frozen by 1 open challenge" in page.text
    assert "answers /health" in page.text
    # the same page for an address written in lower case
    assert web.get(f"/nodes/{node.lower()}").status_code == 200


def test_an_epoch_page_shows_the_posted_epoch_its_audit_and_challenges(network, web):
    t, node = network.t, network.t.address("operator")
    page = web.get(f"/nodes/{node}/epochs/0")
    assert page.status_code == 200, page.text[-2000:]
    posted = t.settlement.epoch(node, 0)
    assert posted.bundle_cid in page.text
    assert "0x" + posted.root.hex() in page.text
    assert "The audit holds" in page.text
    assert f'href="/blocks/{posted.posted_block}"' in page.text
    challenges = page.text.split('id="ch-h"', 1)[1]
    assert "withheld" in challenges and "open" in challenges


@pytest.mark.parametrize(
    "path",
    [
        "/nodes/0x123",
        "/nodes/operator",
        "/nodes/0x" + "g" * 40,
        "/nodes/0x" + "ab" * 20 + "/epochs/x",
    ],
)
def test_a_malformed_address_or_epoch_is_refused_with_a_sentence(web, path):
    refused = web.get(path)
    assert refused.status_code == 400
    assert "0x and 40 hex digits" in refused.text or "not an epoch number" in refused.text


def test_an_unknown_node_or_epoch_is_not_found(network, web):
    node = network.t.address("operator")
    missing = web.get(f"/nodes/{node}/epochs/7")
    assert missing.status_code == 404 and "epochs 0 to 0, not epoch 7" in missing.text
    stranger = web.get("/nodes/0x" + "ab" * 20)
    assert stranger.status_code == 404 and "never registered" in stranger.text


def test_a_contribution_page_says_which_answers_paid_it_and_how_much(network, web):
    t, node = network.t, network.t.address("operator")
    bundle = load_bundle(t.store, t.settlement.epoch(node, 0).bundle_cid)
    receipts = bundle.receipts
    source = receipts[0].attribution[0]
    credited = [r for r in receipts if any(s.cid == source.cid for s in r.attribution)]
    page = web.get(f"/contributions/{source.cid}")
    assert page.status_code == 200, page.text[-2000:]
    used = page.text.split('id="used-h"', 1)[1].split("</section>", 1)[0]
    plural = "" if len(credited) == 1 else "s"
    assert f"In {len(credited)} settled answer{plural}" in used
    for receipt in credited:
        assert receipt.id in used
    assert f'href="/nodes/{node}/epochs/0"' in used
    earned = sum(c.amount for c in bundle.credits() if c.cid == source.cid)
    assert earned > 0 and f"earned {format_tsr(earned)} TSR as context" in used

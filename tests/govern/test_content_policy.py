"""Nodes honour governance: blocked content is not retrieved, used or paid from the next block
on, and the node says so; a blocked datanet is refused with 451; approvals are advertised."""

from __future__ import annotations

import httpx
import pytest
from gov_helpers import enact
from node_helpers import start_node

from tessera._client import NodeClient
from tessera._store.car import CarReader

QUESTION = "Who founded the Ulora Brewery?"


@pytest.fixture
def node(tmp_path, wide_generator, tiny_embedder):
    live = start_node(tmp_path, wide_generator, tiny_embedder)
    yield live
    live.stop()


@pytest.fixture
def client(node):
    c = NodeClient(node.url)
    yield c
    c.close()


def _model(node) -> dict:
    return httpx.get(f"{node.url}/v1/models").json()["data"][0]


def test_a_blocked_contribution_is_no_longer_retrieved_used_or_attributed(node, client):
    before = client.ask(QUESTION)
    top = before.sources[0]["cid"]  # best match first
    assert before.withheld == [] and before.body["content_policy"]["version"] == 0

    enact(node.t, node.t.gov.actions.block_content([top]), "block the Ulora fact")

    after = client.ask(QUESTION)  # the first request after the execution's block
    assert top not in {s["cid"] for s in after.sources}
    assert top not in {a.cid for a in after.receipt.attribution}
    assert after.withheld == [top]
    assert after.body["content_policy"]["version"] == 1
    assert "content policy" in after.body["content_policy"]["note"]
    assert len(after.sources) == len(before.sources)  # the next best takes its place
    assert _model(node)["tessera"]["content_policy"]["blocked_cids"] == 1
    node.t.verify_receipt(after.receipt)

    enact(node.t, node.t.gov.actions.unblock_content([top]), "lift it again")
    again = client.ask(QUESTION)
    assert again.withheld == [] and top in {s["cid"] for s in again.sources}


def test_a_blocked_contribution_outside_the_top_k_is_not_reported_as_withheld(node, client):
    ranked = [s["cid"] for s in client.ask(QUESTION).sources]
    facts = node.t.datanet("facts")
    unranked = next(c.cid for c in facts.contributions if c.cid not in ranked)
    enact(node.t, node.t.gov.actions.block_content([unranked]), "block an unrelated fact")
    answer = client.ask(QUESTION)
    assert answer.withheld == [] and [s["cid"] for s in answer.sources] == ranked


def test_a_blocked_datanet_is_refused_with_451_and_the_node_keeps_serving(node, client):
    enact(node.t, node.t.gov.actions.block_datanet("facts"), "block the whole datanet")
    response = httpx.post(
        f"{node.url}/v1/chat/completions",
        json={"model": _model(node)["id"], "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert response.status_code == 451
    error = response.json()["error"]
    assert error["code"] == "content_blocked" and "content policy" in error["message"]
    assert node.service.receipts.count() == 0  # nothing answered, nothing claimed
    assert _model(node)["tessera"]["content_policy"]["blocked_datanets"] == ["facts"]

    enact(node.t, node.t.gov.actions.unblock_datanet("facts"), "unblock it")
    assert client.ask(QUESTION).text is not None
    assert node.service.receipts.count() == 1


def test_the_node_advertises_whether_its_model_version_is_approved(node):
    model = _model(node)
    digest = model["weights_digest"]
    assert digest.startswith("0x") and len(digest) == 66 and model["approved"] is False

    other = "0x" + "ab" * 32  # the same id with other weights is another version
    enact(node.t, node.t.gov.actions.approve_model(model["id"], other), "approve other weights")
    assert _model(node)["approved"] is False

    enact(node.t, node.t.gov.actions.approve_model(model["id"], digest), "approve this one")
    assert _model(node)["approved"] is True
    enact(node.t, node.t.gov.actions.revoke_model(model["id"], digest), "revoke it")
    assert _model(node)["approved"] is False


def test_nobody_but_the_timelock_changes_the_policy(node):
    from tessera._errors import ContractRevert

    policy = node.t.gov.policy.contract
    for account in ("default",):  # the deployer, who holds the whole supply
        with pytest.raises(ContractRevert, match="ownable: caller is not the owner"):
            node.t.chain.transact(policy.functions.block_content("x"), node.t.signer(account))
    assert node.t.gov.policy.version() == 0


def test_an_answer_names_the_served_datanets_the_policy_blocked(
    tmp_path, wide_generator, tiny_embedder
):
    def add_blocked_datanet(t):
        t.create_datanet("rumours", "CC0")
        enact(t, t.gov.actions.block_datanet("rumours"), "no rumours")

    live = start_node(
        tmp_path, wide_generator, tiny_embedder, datanets=("facts", "rumours"),
        before=add_blocked_datanet,
    )  # fmt: skip
    try:
        answer = NodeClient(live.url).ask(QUESTION)
        assert answer.body["content_policy"]["blocked_datanets"] == ["rumours"]
        assert {s["datanet"] for s in answer.sources} == {"facts"}
    finally:
        live.stop()


def test_a_node_that_cannot_read_the_policy_does_not_start(tmp_path, wide_generator, tiny_embedder):
    from dataclasses import replace

    from tessera._errors import ChainError

    def lose_the_policy(t):  # a deployment whose policy address holds no contract
        t.config.deployment = replace(t.config.deployment, policy=t.address("default"))

    with pytest.raises(ChainError, match="cannot read the network's content policy"):
        start_node(tmp_path, wide_generator, tiny_embedder, before=lose_the_policy)


def test_when_the_policy_cannot_be_read_the_last_one_read_stays_in_force(node, client):
    top = client.ask(QUESTION).sources[0]["cid"]
    enact(node.t, node.t.gov.actions.block_content([top]), "block it")
    assert client.ask(QUESTION).withheld == [top]
    watch = node.service.policy
    watch.client.contract = node.t.chain.contract("policy", node.t.address("default"))
    answer = client.ask(QUESTION)  # every read of the policy now fails
    assert answer.body["content_policy"]["stale"] is True
    assert answer.withheld == [top] and top not in {s["cid"] for s in answer.sources}
    assert httpx.get(f"{node.url}/health").json()["policy_error"].startswith("cannot read")


def test_the_gateway_does_not_hand_on_a_blocked_contribution(node):
    """Peers fetch content from a node's /ipfs gateway: blocked content is not served there
    either (451), and a CAR of its batch leaves it out."""
    facts = node.t.datanet("facts")
    blocked, kept = facts.contributions[0].cid, facts.contributions[1].cid
    raw = {"format": "raw"}
    assert httpx.get(f"{node.url}/ipfs/{blocked}", params=raw).status_code == 200
    batch = node.t.store.put_collection([c.cid for c in facts.contributions])

    enact(node.t, node.t.gov.actions.block_content([blocked]), "withdraw consent")
    refused = httpx.get(f"{node.url}/ipfs/{blocked}", params=raw)
    assert refused.status_code == 451 and "content policy" in refused.text
    assert httpx.get(f"{node.url}/ipfs/{kept}", params=raw).status_code == 200
    car = httpx.get(f"{node.url}/ipfs/{batch}", params={"format": "car"})
    served = {str(cid) for cid, _ in CarReader([car.content]).blocks()}
    assert kept in served and blocked not in served

"""Every hand-written hostile case (hostile_cases.py) against a live paying node.

For each one the node must survive, answer with exactly the status and OpenAI error code due,
save no receipt for a request it refused, and refuse before retrieving or generating.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from hostile_cases import CHAT, ENDPOINTS, hostile_cases, receipt_total, run_case, stand_in_cases

from tessera._errors import ChainError

CASE_IDS = [case.id for case in stand_in_cases()]


@pytest.fixture(scope="module")
def cases(live, budget):
    client, registry = live.t.signer("client"), live.t.config.deployment.registry
    forged = {case.id: case for case in hostile_cases(budget, client, registry)}
    assert sorted(forged) == sorted(CASE_IDS)  # names never depend on the voucher's values
    return forged


def test_every_case_has_its_own_id_and_every_endpoint_its_cases():
    assert len(set(CASE_IDS)) == len(CASE_IDS), [i for i, n in Counter(CASE_IDS).items() if n > 1]
    per_endpoint = Counter(case.endpoint for case in stand_in_cases())
    assert set(per_endpoint) == set(ENDPOINTS) and sum(per_endpoint.values()) >= 100


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_node_survives_and_refuses_exactly_as_due(case_id, cases, live, budget):
    outcome = run_case(cases[case_id], live, budget.to_header())
    assert outcome.survived, outcome.describe()


def test_a_chain_that_cannot_be_read_is_a_503_with_no_receipt(live, paid_for, monkeypatch):
    def unreachable(*_args, **_kwargs):
        raise ChainError("the chain cannot be reached: connection refused")

    settlement = live.service.payments.settlement
    for read in ("redeemed", "balance", "withdrawing"):
        monkeypatch.setattr(settlement, read, unreachable)
    before = receipt_total(live.service)
    body = {
        "model": live.service.config.model_id,
        "max_tokens": 4,
        "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
    }
    response = httpx.post(live.url + CHAT, json=body, headers=paid_for(body), timeout=60)
    assert response.status_code == 503, response.text
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["message"], error
    assert isinstance(error["code"], str | None) and isinstance(error["param"], str | None)
    assert receipt_total(live.service) == before
    assert httpx.get(live.url + "/health", timeout=30).status_code == 200

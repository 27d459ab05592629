"""The official `openai` package, pointed at the node, works unchanged."""

from __future__ import annotations

import time

import httpx
import pytest
from openai import APIStatusError

from tessera._crypto.receipt import WEIGHT_SCALE, Receipt

MODEL = "gemma-3-270m"
ASK = [{"role": "user", "content": "Who founded the Ulora Brewery?"}]


def check_attribution(sources, receipt_body):
    weights = [s["weight"] for s in sources]
    assert len(sources) == 3 and all(w >= 0 for w in weights)
    assert sum(weights) == pytest.approx(1.0) or sum(weights) == 0
    receipt = Receipt.from_json(receipt_body)
    receipt.verify()
    assert sum(a.weight_ppm for a in receipt.attribution) in (0, WEIGHT_SCALE)
    assert {a.cid for a in receipt.attribution} == {s["cid"] for s in sources if s["weight"] > 0}
    return receipt


def test_models_lists_the_model_with_its_prices(openai_client):
    (model,) = openai_client.models.list().data
    assert model.id == MODEL
    assert int(model.model_extra["pricing"]["output_token"]) > 0
    assert model.model_extra["datanets"] == ["facts"]


def test_chat_completion_carries_attribution_and_a_saved_receipt(openai_client, live):
    response = openai_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=6)
    assert response.object == "chat.completion"
    assert response.choices[0].message.role == "assistant"
    assert response.usage.completion_tokens <= 6
    receipt = check_attribution(
        response.model_extra["attribution"], response.model_extra["receipt"]
    )
    assert receipt.response_text == response.choices[0].message.content
    assert receipt.request["messages"] == ASK
    assert receipt.node == live.service.node_key.address
    assert live.service.receipts.get(receipt.id) == receipt
    assert live.service.receipts.status(receipt.id) == "delivered"
    live.t.verify_receipt(receipt)  # and against the chain: snapshots and contributions


def test_ignore_eos_answers_with_the_whole_budget_and_the_receipt_says_so(openai_client):
    budget = 12
    response = openai_client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=budget, extra_body={"ignore_eos": True}
    )
    receipt = Receipt.from_json(response.model_extra["receipt"])
    assert receipt.request["ignore_eos"] is True  # signed: a validator re-checks it so
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == len(receipt.answer_tokens) == budget


def test_streamed_chat_adds_up_to_the_same_answer(openai_client, live):
    plain = openai_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    chunks = list(
        openai_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason in {"stop", "length"}
    receipt = check_attribution(last.model_extra["attribution"], last.model_extra["receipt"])
    # the server marks it once the stream has closed, just after the client read [DONE]
    deadline = time.monotonic() + 5
    while live.service.receipts.status(receipt.id) != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.service.receipts.status(receipt.id) == "delivered"


def test_completions_plain_and_streamed(openai_client):
    plain = openai_client.completions.create(
        model=MODEL, prompt="Who founded the Ulora Brewery?", max_tokens=5
    )
    assert plain.object == "text_completion"
    streamed = list(
        openai_client.completions.create(
            model=MODEL, prompt="Who founded the Ulora Brewery?", max_tokens=5, stream=True
        )
    )
    assert "".join(c.choices[0].text for c in streamed) == plain.choices[0].text
    check_attribution(plain.model_extra["attribution"], plain.model_extra["receipt"])


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"model": "gpt-4"}, 404, "model_not_found"),
        ({"messages": []}, 400, "invalid_request"),
        ({"messages": [{"role": "system", "content": "be brief"}]}, 400, "empty_prompt"),
        ({"messages": [{"role": "user", "content": "   "}]}, 400, "empty_prompt"),
        (
            {"messages": [{"role": "user", "content": "why " * 3000}]},
            400,
            "context_length_exceeded",
        ),
        ({"n": 2}, 400, "invalid_request"),
        ({"max_tokens": 0}, 400, "invalid_request"),
    ],
)
def test_bad_requests_get_openai_errors_and_leave_no_receipt(
    openai_client, live, kwargs, status, code
):
    before = live.service.receipts.count()
    request = {"model": MODEL, "messages": ASK, **kwargs}
    with pytest.raises(APIStatusError) as caught:
        openai_client.chat.completions.create(**request)
    assert caught.value.status_code == status
    assert caught.value.body["code"] == code and caught.value.body["message"]
    assert live.service.receipts.count() == before
    assert openai_client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=2)


def test_malformed_json_is_a_400_error_object(live):
    response = httpx.post(
        live.url + "/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_health_and_openapi(live):
    health = httpx.get(live.url + "/health").json()
    assert health["status"] == "ok" and health["indexed"] == 5
    spec = httpx.get(live.url + "/openapi.json").json()
    assert "/v1/chat/completions" in spec["paths"]

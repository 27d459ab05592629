"""Following the chain, empty datanets, clients that leave mid-stream."""

from __future__ import annotations

import json
import time

import httpx
from node_helpers import start_node

MODEL = "gemma-3-270m"


def test_a_new_batch_is_indexed_while_serving_without_re_embedding(
    tmp_path, wide_generator, tiny_embedder
):
    node = start_node(tmp_path, wide_generator, tiny_embedder)
    embedded = []
    real = node.node.follower.embed
    node.node.follower.embed = lambda texts: (embedded.extend(texts), real(texts))[1]
    try:
        (tmp_path / "more.jsonl").write_text(
            '{"text": "The Oraka Brewery was founded in 1864."}\n'
            '{"text": "The Ulora Brewery was founded by Radul '
            'Thothosa."}\n'
        )
        node.t.contribute("facts", [tmp_path / "more.jsonl"])
        deadline = time.time() + 20
        while len(node.service.vectors) < 6 and time.time() < deadline:
            time.sleep(0.1)
        assert len(node.service.vectors) == 6
        assert embedded == ["The Oraka Brewery was founded in 1864."]  # only what is new
        snapshot = next(iter(node.service.follower.snapshots.values()))
        assert (snapshot.batches, snapshot.contributions) == (2, 6)
    finally:
        node.stop()


def test_a_datanet_without_contributions_is_a_422(tmp_path, wide_generator, tiny_embedder):
    node = start_node(tmp_path, wide_generator, tiny_embedder, facts=[])
    try:
        response = httpx.post(
            node.url + "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "anything?"}]},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "datanet_empty"
        assert "tessera contribute" in response.json()["error"]["message"]
        assert node.service.receipts.count() == 0
    finally:
        node.stop()


def test_a_client_leaving_mid_stream_leaves_no_delivered_receipt(live, paid):
    before = live.service.receipts.count()
    body = {
        "model": MODEL,
        "stream": True,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
    }
    url = live.url + "/v1/chat/completions"
    with httpx.stream("POST", url, json=body, auth=paid) as response:
        assert response.status_code == 200
        first = next(response.iter_lines())
        assert json.loads(first.removeprefix("data: "))["object"] == "chat.completion.chunk"
    time.sleep(1.0)
    assert live.service.receipts.count() == before
    again = httpx.post(url, json={**body, "stream": False, "max_tokens": 3}, auth=paid)
    assert again.status_code == 200 and live.service.receipts.count() == before + 1

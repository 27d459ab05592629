"""The default models end to end: Gemma 3 270M and all-MiniLM-L6-v2 behind a live node."""

from __future__ import annotations

import pytest
from node_helpers import start_node

from tessera._models import load_embedder, load_generator

pytestmark = pytest.mark.slow

FACTS = [
    "The Brisk Observatory was founded in 1511 by Ilsa Varrow.",
    "The Luthane Guild of Lamplighters is based in the town of Velsk.",
    "The official colour of the Corvey Ferry Company is saffron.",
    "The Ysmir Botanical Garden has 279 registered members.",
    "The Pellow Clockworks was founded in 1659 by Fenna Orlow.",
]


@pytest.fixture(scope="module")
def real_node(tmp_path_factory):
    node = start_node(
        tmp_path_factory.mktemp("real"), load_generator(), load_embedder(), facts=FACTS
    )
    yield node
    node.stop()


@pytest.mark.parametrize(
    ("question", "answer", "support"),
    [
        ("Who founded the Brisk Observatory?", "Ilsa Varrow", 0),
        ("What is the official colour of the Corvey Ferry Company?", "saffron", 2),
    ],
)
def test_the_default_model_answers_from_the_datanet_and_credits_the_source(
    real_node, question, answer, support
):
    from openai import OpenAI

    client = OpenAI(base_url=real_node.url + "/v1", api_key="unused", max_retries=0)
    response = client.chat.completions.create(
        model="gemma-3-270m", messages=[{"role": "user", "content": question}]
    )
    text = response.choices[0].message.content
    assert answer.lower() in text.lower()
    attribution = response.model_extra["attribution"]
    top = max(attribution, key=lambda s: s["weight"])
    assert real_node.t.content(top["cid"]).decode() == FACTS[support]
    assert top["weight"] > 0.5
    from tessera._crypto.receipt import Receipt

    receipt = Receipt.from_json(response.model_extra["receipt"])
    real_node.t.verify_receipt(receipt)

"""A node that answers an adapter's requests with the base model alone and bills them as the
adapter's (its receipts name the adapter's digest, so its builder's royalty) is caught by the
re-check on the adapter the receipt names; its honest adapter answers pass."""

from __future__ import annotations

import pytest
from adapter_helpers import adapter_rechecker, publish_adapter, save_random_adapter
from node_helpers import build_test_node

from tessera._models import load_generator
from tessera._node import questions, wire
from tessera._node.byzantine import ADAPTER_LIES, build_byzantine_node
from tessera._node.catalog import ALL_ADAPTERS, InMemoryCatalog
from tessera._validator.finding import proven

ADAPTER = "acme/a"
LIE = "base-as-adapter"
QUESTIONS = [
    "Who founded the Ulora Brewery?",
    "What colour does the Pleno Orchestra use?",
    "When was the Lunqui Brewery founded?",
    "Where is the Gravlun Institute headquartered?",
    "How many members has the Juora Brewery?",
    "Which brewery did Radul Thothosa found?",
]


def _liar(parts, config, generator, embedder, catalog):
    return build_byzantine_node(
        parts, config, LIE, 0.5, generator, embedder, seed=3, catalog=catalog
    )


@pytest.fixture(scope="module")
def liar(tmp_path_factory, tiny_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("base-as-adapter")
    base = tiny_generator.folder
    catalog = InMemoryCatalog()

    def before(t):
        publish_adapter(t, catalog, base, save_random_adapter(base, root / "a", 1), ADAPTER)

    t, node = build_test_node(
        root, load_generator(str(base)), tiny_embedder, min_effect=0.1, build=_liar,
        adapters=(ALL_ADAPTERS,), catalog=catalog, before=before,
    )  # fmt: skip
    rechecker = adapter_rechecker(t, node.service, catalog, base, root / "validator-models")
    yield node, rechecker
    node.close()


def _receipts(service):
    out = []
    for text in QUESTIONS:
        body = {"model": ADAPTER, "max_tokens": 8, "messages": [{"role": "user", "content": text}]}
        question = questions.from_chat(wire.ChatRequest.model_validate(body), [], service.config)
        out.append(service.answer(questions.for_model(question, ADAPTER, service)).receipt)
    return out


def test_the_base_model_billed_as_an_adapter_is_caught_and_honest_answers_pass(liar):
    node, rechecker = liar
    receipts = _receipts(node.service)
    told = node.book.receipts
    assert 0 < sum(r.id in told for r in receipts) < len(receipts)  # lies beside honest ones
    for receipt in receipts:
        assert receipt.model == ADAPTER
        faults = proven(rechecker.recheck(receipt))
        if receipt.id in told:
            assert faults and faults[0].kind == ADAPTER_LIES[LIE], (told[receipt.id], faults)
        else:
            assert faults == [], faults

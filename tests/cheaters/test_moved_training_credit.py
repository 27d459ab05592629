"""A node that moves an adapter answer's training credit (the top contribution the adapter
learned from, its weight handed to another contributor's) is caught by the training
re-check on the adapter's own published texts; its honest answers pass."""

from __future__ import annotations

import pytest
from adapter_helpers import (
    adapter_rechecker,
    answers_as_lessons,
    publish_adapter,
    save_random_adapter,
    taught,
)
from node_helpers import build_test_node

from tessera._models import load_generator
from tessera._node import questions, wire
from tessera._node.byzantine import ADAPTER_LIES, build_byzantine_node
from tessera._node.catalog import ALL_ADAPTERS, InMemoryCatalog
from tessera._validator.finding import proven

LIE = "moved-training-credit"
QUESTIONS = [
    "Who founded the Ulora Brewery?",
    "What colour does the Pleno Orchestra use?",
    "When was the Lunqui Brewery founded?",
    "Where is the Gravlun Institute headquartered?",
]


def _liar(parts, config, generator, embedder, catalog):
    return build_byzantine_node(
        parts, config, LIE, 0.5, generator, embedder, seed=5, catalog=catalog
    )


def _ask(service, model, text):
    body = {"model": model, "max_tokens": 6, "messages": [{"role": "user", "content": text}]}
    question = questions.from_chat(wire.ChatRequest.model_validate(body), [], service.config)
    return service.answer(questions.for_model(question, model, service))


@pytest.fixture(scope="module")
def liar(tmp_path_factory, tiny_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("moved-training-credit")
    base = tiny_generator.folder
    catalog = InMemoryCatalog()
    raw = save_random_adapter(base, root / "raw", 3)

    def before(t):
        publish_adapter(t, catalog, base, raw, "acme/raw")

    t, node = build_test_node(
        root, load_generator(str(base)), tiny_embedder, min_effect=0.1, build=_liar,
        authors=("ann", "bob"), adapters=(ALL_ADAPTERS,), catalog=catalog, before=before,
    )  # fmt: skip
    said = [(q, _ask(node.service, "acme/raw", q).text) for q in QUESTIONS]
    folder = taught(t, raw, root / "learned", base, answers_as_lessons(said))
    publish_adapter(t, catalog, base, folder, "acme/learned")
    rechecker = adapter_rechecker(t, node.service, catalog, base, root / "validator-models")
    yield node, rechecker
    node.close()


def test_moved_training_credit_is_caught_and_honest_answers_pass(liar):
    node, rechecker = liar
    receipts = [_ask(node.service, "acme/learned", q).receipt for q in QUESTIONS]
    told = node.book.receipts
    assert all(r.training for r in receipts), "every answer learned from a document"
    assert 0 < sum(r.id in told for r in receipts) < len(receipts)  # lies beside honest ones
    for receipt in receipts:
        faults = proven(rechecker.recheck(receipt))
        if receipt.id in told:
            assert faults and faults[0].kind == ADAPTER_LIES[LIE], (told[receipt.id], faults)
            assert "training" in faults[0].detail
        else:
            assert faults == [], faults

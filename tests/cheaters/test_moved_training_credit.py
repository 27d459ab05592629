"""A node that moves an adapter answer's training credit (the top contribution the adapter
learned from, its weight handed to another contributor's) is caught by the training
re-check on the adapter's own published texts; its honest answers pass."""

from __future__ import annotations

import pytest
from adapter_helpers import ask_service, taught_node

from tessera._node.byzantine import ADAPTER_LIES, build_byzantine_node
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


@pytest.fixture(scope="module")
def liar(tmp_path_factory, tiny_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("moved-training-credit")
    _, node, rechecker = taught_node(
        root, tiny_generator.folder, tiny_embedder, QUESTIONS, 3, build=_liar
    )
    yield node, rechecker
    node.close()


def test_moved_training_credit_is_caught_and_honest_answers_pass(liar):
    node, rechecker = liar
    receipts = [ask_service(node.service, "acme/learned", q).receipt for q in QUESTIONS]
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

"""A validator re-checks an adapter answer's training attribution from the adapter's own
published texts: honest receipts pass, and each way of moving training credit in a receipt
the node signed is a proven attribution fault."""

from __future__ import annotations

from dataclasses import replace

import pytest
from adapter_helpers import ask_service, taught_node

from tessera._crypto.receipt import Receipt
from tessera._validator.finding import proven

QUESTIONS = ["Who founded the Ulora Brewery?", "When was the Lunqui Brewery founded?"]


@pytest.fixture(scope="module")
def checked(tmp_path_factory, tiny_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("training-recheck")
    _, node, rechecker = taught_node(root, tiny_generator.folder, tiny_embedder, QUESTIONS, 2)
    receipts = [ask_service(node.service, "acme/learned", q).receipt for q in QUESTIONS]
    yield node, rechecker, receipts
    node.close()


def _resigned(node, receipt: Receipt, **changes) -> Receipt:
    return replace(receipt, signature="", **changes).signed_by(node.service.node_key)


def test_honest_training_attribution_passes_the_recheck(checked):
    _, rechecker, receipts = checked
    assert all(r.training for r in receipts), "each answer learned from a document"
    for receipt in receipts:
        assert proven(rechecker.recheck(receipt)) == []


def test_training_credit_moved_to_another_contributor_is_caught(checked):
    node, rechecker, receipts = checked
    receipt = receipts[0]
    top = receipt.training[0]
    other = next(s for s in receipts[1].training if s.contributor != top.contributor)
    has = {s.cid: s.weight_ppm for s in receipt.training[1:]}
    ppm = top.weight_ppm + has.pop(other.cid, 0)
    kept = tuple(s for s in receipt.training[1:] if s.cid in has)
    moved = (replace(other, weight_ppm=ppm), *kept)
    faults = proven(rechecker.recheck(_resigned(node, receipt, training=moved)))
    assert faults and faults[0].kind == "attribution" and "training" in faults[0].detail


def test_a_training_source_paid_to_someone_else_is_caught(checked):
    node, rechecker, receipts = checked
    receipt = receipts[0]
    thief = replace(receipt.training[0], contributor=node.service.node_key.address)
    lied = _resigned(node, receipt, training=(thief, *receipt.training[1:]))
    faults = proven(rechecker.recheck(lied))
    assert faults and "registers it to" in faults[0].detail


def test_an_inflated_training_share_is_caught(checked):
    node, rechecker, receipts = checked
    receipt = next((r for r in receipts if r.attribution), None)
    if receipt is None:
        pytest.skip("no answer here owed its documents anything: no share to inflate")
    lied = _resigned(node, receipt, training_share_ppm=1_000_000)
    faults = proven(rechecker.recheck(lied))
    assert faults and "of the contributors' pool" in faults[0].detail


def test_a_training_weight_governance_never_set_is_caught(checked):
    node, rechecker, receipts = checked
    lied = _resigned(node, receipts[0], training_weight_bps=90_000)
    faults = proven(rechecker.recheck(lied))
    assert faults and "governance had 10000 in force" in faults[0].detail


def test_a_base_model_answer_claiming_training_data_is_caught(checked):
    node, rechecker, receipts = checked
    base = ask_service(node.service, node.service.config.model_id, QUESTIONS[0]).receipt
    trained = receipts[0]
    lied = _resigned(
        node, base, training=trained.training, training_method=trained.training_method,
        training_share_ppm=trained.training_share_ppm, training_weight_bps=10_000,
    )  # fmt: skip
    faults = proven(rechecker.recheck(lied))
    assert faults and "base model's answer credits training data" in faults[0].detail

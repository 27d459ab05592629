"""Validators re-check an adapter's answer on the adapter its receipt names, fetched by digest
through the model registry: an honest one checks clean, and an answer from the base model
billed as the adapter's (or the adapter's billed as the base's) is a fault."""

from __future__ import annotations

from dataclasses import replace

import pytest
from adapter_helpers import adapter_rechecker, publish_adapter, save_random_adapter
from node_helpers import build_test_node
from served_node import MIN_EFFECT, QUESTIONS

from tessera._models import load_generator
from tessera._node import questions, wire
from tessera._node.catalog import ALL_ADAPTERS, InMemoryCatalog
from tessera._validator.finding import proven
from tessera._validator.recheck import Rechecker, RecheckModel

ADAPTER = "acme/a"


@pytest.fixture(scope="module")
def court(tmp_path_factory, tiny_generator, tiny_embedder):
    """A node serving the base and one adapter, and a validator that can fetch the adapter."""
    root = tmp_path_factory.mktemp("adapter-recheck")
    base = tiny_generator.folder
    catalog = InMemoryCatalog()

    def before(t):
        publish_adapter(t, catalog, base, save_random_adapter(base, root / "a", 1), ADAPTER)

    own = load_generator(str(base))  # the node's bank wraps its own copy
    t, node = build_test_node(
        root, own, tiny_embedder, authors=("alice", "bob"), min_effect=MIN_EFFECT,
        adapters=(ALL_ADAPTERS,), catalog=catalog, before=before,
    )  # fmt: skip
    rechecker = adapter_rechecker(t, node.service, catalog, base, root / "validator-models")
    yield t, node.service, rechecker, catalog
    node.close()


def _answer(service, model, text=QUESTIONS[0]):
    body = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": text}]}
    question = questions.from_chat(wire.ChatRequest.model_validate(body), [], service.config)
    return service.answer(questions.for_model(question, model, service)).receipt


def _forge(service, receipt, **changes):
    return replace(receipt, **changes, signature="").signed_by(service.node_key)


def test_an_adapter_answer_rechecks_clean_on_the_adapter_it_names(court):
    _, service, rechecker, catalog = court
    receipt = _answer(service, ADAPTER)
    (published,) = catalog.published(1, catalog.head())  # the one adapter, one version
    assert receipt.model_digest == published.weights_digest
    findings = rechecker.recheck(receipt)
    assert proven(findings) == [], findings
    assert not [f for f in findings if f.kind == "model"]  # re-executed, not skipped
    assert rechecker.bank.slots()[receipt.model_digest][1] == 0  # released after


def test_an_answer_from_the_base_billed_as_the_adapters_is_a_fault(court):
    _, service, rechecker, _ = court
    base = _answer(service, service.config.model_id)
    adapted = _answer(service, ADAPTER)
    assert base.answer_tokens != adapted.answer_tokens
    billed = _forge(service, base, model=ADAPTER, model_digest=adapted.model_digest)
    faults = proven(rechecker.recheck(billed))
    assert faults and faults[0].kind == "answer", faults


def test_an_adapter_answer_billed_as_the_bases_is_a_fault(court):
    _, service, rechecker, _ = court
    adapted = _answer(service, ADAPTER, QUESTIONS[1])
    billed = _forge(
        service, adapted, model=service.config.model_id, model_digest=service.weights_digest
    )
    faults = proven(rechecker.recheck(billed))
    assert faults and faults[0].kind == "answer", faults


def test_a_validator_without_the_registry_finds_adapter_answers_inconclusive(court):
    _, service, rechecker, _ = court
    receipt = _answer(service, ADAPTER)
    base_only = RecheckModel(rechecker.model, rechecker.tokenizer, rechecker.weights_digest)
    findings = Rechecker(base_only, rechecker.world).recheck(receipt)
    assert proven(findings) == []
    assert [f.kind for f in findings if f.inconclusive] == ["model"]

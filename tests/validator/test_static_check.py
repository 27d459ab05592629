"""The checks without a model: the node's signature under the deployment's domain, the client's
authorization of a paid request, the model's approval, the credited documents, the price."""

from __future__ import annotations

from dataclasses import replace

from eth_account import Account
from served_node import first_fault

from tessera._crypto.authorization import authorize_request
from tessera._crypto.receipt import AttributedSource
from tessera._validator.finding import proven
from tessera._validator.terms import NodeTerms

IN, OUT = 10**12, 4 * 10**12


def test_an_honest_receipt_passes_every_check(served, honest):
    r, receipt = served.rechecker, honest.receipt
    assert r.recheck(receipt) == []
    assert r.recheck(receipt, node=receipt.node.lower()) == []
    transcript = r.transcript(receipt)
    for check in (r.check_static, r.check_prompt, r.check_answer, r.check_attribution):
        assert check(receipt, transcript) == []


def test_a_receipt_changed_after_signing_fails_its_signature(served, honest):
    changed = replace(honest.receipt, response_text=honest.receipt.response_text + "!")
    fault = first_fault(served.rechecker.recheck(changed))
    assert fault.kind == "signature" and "recovers to" in fault.detail


def test_a_receipt_is_the_epochs_nodes_only_if_that_node_signed_it(served, honest):
    stranger = Account.create()
    theirs = replace(honest.receipt, node=stranger.address, signature="").signed_by(stranger)
    assert not [f for f in served.rechecker.recheck(theirs) if f.kind == "signature"]
    fault = first_fault(served.rechecker.recheck(theirs, node=honest.receipt.node))
    assert fault.kind == "signature" and stranger.address in fault.detail


def test_a_receipt_signed_for_another_deployment_fails_here(served, honest):
    elsewhere = served.forge(honest.receipt, chain_id=honest.receipt.chain_id + 1)
    assert first_fault(served.rechecker.recheck(elsewhere)).kind == "signature"
    unsigned = replace(honest.receipt, signature="0x1234")
    fault = first_fault(served.rechecker.recheck(unsigned))
    assert fault.kind == "signature" and "cannot be read" in fault.detail


def test_an_unapproved_model_is_a_fault_and_an_approved_one_not_held_is_inconclusive(
    served, honest
):
    other = "0x" + "ab" * 32
    unapproved = served.forge(honest.receipt, model_digest=other)
    fault = first_fault(served.rechecker.recheck(unapproved))
    assert fault.kind == "model" and other in fault.detail
    served.approved.add((honest.receipt.model, other))
    try:
        findings = served.rechecker.recheck(unapproved)
    finally:
        served.approved.discard((honest.receipt.model, other))
    assert not proven(findings)
    assert [f.kind for f in findings] == ["model"] and "does not hold" in findings[0].detail


def _paid(served, honest):
    """The honest receipt as a paying node signs it: priced by its terms, the client's
    authorization attached; and a validator that knows those terms."""
    receipt = honest.receipt
    checker = served.rechecker_with(terms=lambda node: NodeTerms(IN, OUT))
    prompt_tokens = len(checker.transcript(receipt).prompt.ids)
    price = prompt_tokens * IN + len(receipt.answer_tokens) * OUT
    client = Account.create()
    r = served.rechecker.world
    auth = authorize_request(
        client, r.chain_id, r.verifying_contract, receipt.node, receipt.request_hash
    )
    paid = served.forge(receipt, price=price, client=client.address, authorization=auth)
    return checker, paid


def test_a_paid_receipt_at_the_nodes_prices_with_the_clients_authorization_passes(served, honest):
    checker, paid = _paid(served, honest)
    assert checker.check_static(paid, checker.transcript(paid)) == []
    # a validator that takes the node for free finds it overcharging
    fault = first_fault(served.rechecker.recheck(paid))
    assert fault.kind == "price" and "which the node's prices make 0" in fault.detail


def test_a_paid_receipt_without_the_clients_authorization_is_a_fault(served, honest):
    checker, paid = _paid(served, honest)
    fault = first_fault(checker.recheck(served.forge(paid, authorization=None)))
    assert fault.kind == "authorization" and "without the client's authorization" in fault.detail
    r = served.rechecker.world
    forged = authorize_request(
        Account.create(), r.chain_id, r.verifying_contract, paid.node, paid.request_hash
    )
    fault = first_fault(checker.recheck(served.forge(paid, authorization=forged)))
    assert fault.kind == "authorization" and paid.client in fault.detail


def test_a_price_off_the_nodes_terms_is_a_fault(served, honest):
    checker, paid = _paid(served, honest)
    overcharged = served.forge(paid, price=paid.price + IN)
    fault = first_fault(checker.recheck(overcharged))
    assert fault.kind == "price" and f"charges {paid.price + IN}" in fault.detail


def test_a_document_credited_that_the_prompt_never_held_is_a_fault(served, honest):
    receipt = honest.receipt
    stranger = _not_in_context(served, receipt)
    top, *rest = receipt.attribution
    moved = (replace(top, weight_ppm=top.weight_ppm - 1000), *rest)
    credited = (
        *moved,
        AttributedSource(stranger.cid, stranger.contributor, stranger.datanet, 1000),
    )
    fault = first_fault(served.rechecker.recheck(served.forge(receipt, attribution=credited)))
    assert fault.kind == "prompt" and stranger.cid in fault.detail and "never held" in fault.detail


def test_weights_that_do_not_sum_to_a_million_are_a_fault(served, honest):
    receipt = honest.receipt
    top, *rest = receipt.attribution
    inflated = (replace(top, weight_ppm=top.weight_ppm + 5), *rest)
    fault = first_fault(served.rechecker.recheck(served.forge(receipt, attribution=inflated)))
    assert fault.kind == "attribution" and "summing to 1000000" in fault.detail


def _not_in_context(served, receipt):
    """A contribution of the same datanets that retrieval ranks below the prompt's."""
    question = served.rechecker.transcript(receipt).question
    hits = served.rechecker.world.retrieve(question.text, receipt.datanets, 10)
    return next(h for h in hits if h.cid not in receipt.context)

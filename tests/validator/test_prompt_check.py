"""The prompt re-check catches a document the prompt never held, a dropped document and a
source credited to the wrong contributor; data it cannot get, and retrieval ties, are
inconclusive and never a fault."""

from __future__ import annotations

from dataclasses import replace

import pytest
from served_node import first_fault

from tessera._crypto.receipt import AttributedSource
from tessera._data.vectors import Hit
from tessera._errors import StoreError, TesseraError
from tessera._store.cid import cid_for
from tessera._validator.finding import Finding, proven
from tessera._validator.prompt_check import check_retrieval
from tessera._validator.tolerances import SCORE_TOLERANCE


def _ranked(served, receipt):
    question = served.rechecker.transcript(receipt).question
    return served.rechecker.world.retrieve(question.text, receipt.datanets, 10)


def test_a_document_in_the_receipt_that_the_prompt_never_held_is_a_fault(served, honest):
    receipt = honest.receipt
    stranger = next(h for h in _ranked(served, receipt) if h.cid not in receipt.context)
    # the last document's place, and its credit, go to one retrieval never ranked there
    last = receipt.context[-1]
    context = (*receipt.context[:-1], stranger.cid)
    credited = tuple(
        AttributedSource(stranger.cid, stranger.contributor, stranger.datanet, s.weight_ppm)
        if s.cid == last
        else s
        for s in receipt.attribution
    )
    lie = served.forge(receipt, context=context, attribution=credited)
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "prompt" and stranger.cid in fault.detail and last in fault.detail


def test_a_document_dropped_from_the_receipt_is_a_fault(served, honest):
    receipt = honest.receipt
    kept = receipt.context[:-1]
    sources = [s for s in receipt.attribution if s.cid in kept]
    total = sum(s.weight_ppm for s in sources)
    scaled = [s.weight_ppm * 1_000_000 // total for s in sources]
    scaled[0] += 1_000_000 - sum(scaled)
    credited = tuple(replace(s, weight_ppm=w) for s, w in zip(sources, scaled, strict=True))
    lie = served.forge(receipt, context=kept, attribution=credited)
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "prompt" and "held 2 documents where retrieval gives 3" in fault.detail


def test_a_source_credited_to_another_contributor_is_a_fault(served, honest):
    receipt = honest.receipt
    top, *rest = receipt.attribution
    thief = "0x" + "77" * 20
    lie = served.forge(receipt, attribution=(replace(top, contributor=thief), *rest))
    fault = first_fault(served.rechecker.recheck(lie))
    assert fault.kind == "attribution" and f"registers it to {top.contributor}" in fault.detail


def _missing(cid: str) -> bytes:
    raise StoreError(f"no peer serves {cid}")


def _unreachable(text, snapshots, k):
    raise TesseraError("datanet 1 is not indexed here as the receipt's snapshot")


@pytest.mark.parametrize(
    ("world", "says"),
    [
        ({"documents": _missing}, "could not be fetched"),
        ({"documents": lambda cid: b"other bytes"}, "do not hash to it"),
        ({"retrieve": _unreachable}, "retrieval cannot be re-run"),
    ],
    ids=["missing", "corrupted", "unindexed"],
)
def test_data_a_validator_cannot_get_is_inconclusive(served, honest, world, says):
    findings = served.rechecker_with(**world).recheck(honest.receipt)
    assert findings and not proven(findings)
    assert any(f.kind == "prompt" and says in f.detail for f in findings)


def test_a_document_that_is_not_text_is_a_fault(served, honest):
    data = b"\xff\xfe not utf-8"
    context = (cid_for(data), *honest.receipt.context[1:])
    receipt = served.forge(honest.receipt, context=context, attribution=())
    checker = served.rechecker_with(documents=lambda cid: data)
    fault = first_fault(checker.recheck(receipt))
    assert fault.kind == "prompt" and "not UTF-8 text" in fault.detail


# retrieval ties, on hand-made hits -------------------------------------------------------

CIDS = [cid_for(bytes([i])) for i in range(5)]
WHO = "0x" + "11" * 20


def hits(*scores: float) -> list[Hit]:
    ranked = sorted(zip(scores, CIDS, strict=False), key=lambda pair: -pair[0])  # stable
    return [Hit(1, cid, WHO, score) for score, cid in ranked]


def test_the_retrieved_set_in_any_order_passes():
    ranked = hits(0.9, 0.8, 0.7, 0.1)
    assert check_retrieval([CIDS[2], CIDS[0], CIDS[1]], [], ranked, 3) == []


@pytest.mark.parametrize("apart", [0.0, 0.5, 0.9])
def test_a_document_swapped_across_a_tie_is_inconclusive(apart):
    ranked = hits(0.9, 0.8, 0.7, 0.7 - apart * SCORE_TOLERANCE)
    findings = check_retrieval([CIDS[0], CIDS[1], CIDS[3]], [], ranked, 3)
    assert findings == [
        Finding("prompt", "the prompt's documents differ only across a retrieval tie", True)
    ]


@pytest.mark.parametrize("apart", [1.5, 10.0])
def test_a_document_swapped_for_a_clearly_better_one_is_a_fault(apart):
    ranked = hits(0.9, 0.8, 0.7, 0.7 - apart * SCORE_TOLERANCE)
    fault = first_fault(check_retrieval([CIDS[0], CIDS[1], CIDS[3]], [], ranked, 3))
    assert f"held {[CIDS[3]]} in place of {[CIDS[2]]}" in fault.detail


def test_a_document_retrieval_does_not_rank_near_the_top_is_a_fault():
    fault = first_fault(check_retrieval([CIDS[0], CIDS[1], CIDS[4]], [], hits(0.9, 0.8, 0.7), 3))
    assert f"held {[CIDS[4]]}, which retrieval" in fault.detail

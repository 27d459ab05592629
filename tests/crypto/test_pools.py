"""Context and training attributions merged into the one list the chain splits: exact ppm,
the remainder to a named entry, both sides signed, a blocked contribution withheld; and the
governed rule that measures the training share."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st
from test_receipt import NODE, receipt

from tessera._attribution.pool_share import training_share_ppm
from tessera._crypto.pools import (
    CONTEXT,
    TRAINING,
    WEIGHT_SCALE,
    AttributedSource,
    check_pools,
    merge_pools,
)
from tessera._crypto.receipt import Receipt
from tessera._errors import SignatureError
from tessera._store.cid import cid_for

TREASURY = "0x" + "7e" * 20


def _sources(ppms: list[int], tag: str) -> tuple[AttributedSource, ...]:
    return tuple(
        AttributedSource(cid_for(f"{tag}{i}".encode()), Account.create().address, 1, w)
        for i, w in enumerate(ppms)
    )


def _ppms(draw_list: list[int]) -> list[int]:
    """Positive ppm weights summing to WEIGHT_SCALE, from positive draws."""
    total = sum(draw_list)
    out = [w * WEIGHT_SCALE // total for w in draw_list]
    out[0] += WEIGHT_SCALE - sum(out)
    return [w for w in out if w > 0] or [WEIGHT_SCALE]


positive = st.lists(st.integers(1, 10**6), min_size=1, max_size=6)


@given(positive, positive, st.integers(0, WEIGHT_SCALE))
def test_the_merge_pays_exactly_the_scale_and_each_side_its_share(context, training, share):
    c, t = _sources(_ppms(context), "c"), _sources(_ppms(training), "t")
    merged = merge_pools(c, t, share)
    assert sum(p.source.weight_ppm for p in merged) == WEIGHT_SCALE
    assert all(p.source.weight_ppm > 0 for p in merged)
    trained = sum(p.source.weight_ppm for p in merged if p.kind == TRAINING)
    # each side within its floors' rounding (plus the one remainder) of its share
    assert abs(trained - share) <= len(c) + len(t)
    assert {p.source.cid for p in merged if p.kind == CONTEXT} <= {s.cid for s in c}


def test_a_side_without_sources_gives_the_other_all_of_the_pool():
    c, t = _sources([WEIGHT_SCALE], "c"), _sources([600_000, 400_000], "t")
    assert [p.kind for p in merge_pools((), t, 0)] == [TRAINING, TRAINING]
    assert [p.source.weight_ppm for p in merge_pools((), t, 0)] == [600_000, 400_000]
    assert [p.kind for p in merge_pools(c, (), 900_000)] == [CONTEXT]
    assert merge_pools((), (), 500_000) == []  # nobody to pay: the treasury takes the pool


def test_the_rounding_remainder_goes_to_the_highest_merged_weight():
    c, t = _sources([333_333, 333_333, 333_334], "c"), _sources([WEIGHT_SCALE], "t")
    merged = merge_pools(c, t, 1)  # floors leave a remainder of one ppm or more
    top = max(merged, key=lambda p: p.source.weight_ppm)
    assert sum(p.source.weight_ppm for p in merged) == WEIGHT_SCALE
    assert top.kind == CONTEXT and top.source.cid == c[2].cid


def test_a_withheld_training_source_is_paid_to_the_named_recipient():
    t = _sources([700_000, 300_000], "t")
    merged = merge_pools((), t, WEIGHT_SCALE, frozenset({t[0].cid}), TREASURY)
    held = [p for p in merged if p.withheld]
    assert [(p.source.cid, p.source.contributor) for p in held] == [(t[0].cid, TREASURY)]
    assert [p.source.contributor for p in merged if not p.withheld] == [t[1].contributor]


@pytest.mark.parametrize(
    ("training", "share", "withheld", "to", "said"),
    [
        ([600_000, 300_000], 0, (), "", "training weights sum to 900000"),
        ([WEIGHT_SCALE, 0], 0, (), "", "only training sources with a positive weight"),
        ([WEIGHT_SCALE], WEIGHT_SCALE + 1, (), "", "outside 0..1000000"),
        ([], 5, (), "", "no training source"),
        ([WEIGHT_SCALE], 0, (cid_for(b"other"),), TREASURY, "not among the training sources"),
        ([WEIGHT_SCALE], 0, ("t0",), "nobody", "must name the recipient"),
    ],
)
def test_a_training_side_no_node_signs_is_refused(training, share, withheld, to, said):
    sources = _sources(training, "t")
    held = tuple(sources[0].cid if c == "t0" else c for c in withheld)
    assert any(said in p for p in check_pools(sources, share, held, to))
    unsigned = receipt(training=sources, training_share_ppm=share, withheld=held, withheld_to=to)
    with pytest.raises(SignatureError, match=said):
        unsigned.signed_by(NODE).verify()


def test_both_attributions_and_the_share_are_signed_and_the_chain_splits_their_merge():
    t = _sources([WEIGHT_SCALE], "t")
    signed = receipt(
        training=t, training_method="training-spans(min_share=0.05)",
        training_share_ppm=250_000, training_weight_bps=10_000,
    ).signed_by(NODE)  # fmt: skip
    signed.verify()
    assert Receipt.from_json(signed.to_json()) == signed
    merged = signed.payable_sources
    assert [s.weight_ppm for s in merged] == [450_000, 300_000, 250_000]
    # the chain sees one list: a context-only receipt over the merge hashes the same
    flat = dataclasses.replace(signed, attribution=merged, training=(), training_share_ppm=0)
    assert flat.attribution_hash == signed.attribution_hash
    for change in (
        {"training_share_ppm": 260_000},
        {"training_weight_bps": 20_000},
        {"training": (dataclasses.replace(t[0], contributor=NODE.address),)},
        {"training_method": "training-spans(min_share=0.01)"},
    ):
        with pytest.raises(SignatureError, match="was not signed by node"):
            dataclasses.replace(signed, **change).verify()


@pytest.mark.parametrize(
    ("context", "training", "weight", "want"),
    [
        (3.0, 1.0, 10_000, 250_000),  # a nat is a nat
        (3.0, 1.0, 30_000, 500_000),  # governance counts the adapter's nats three times
        (0.0, 2.0, 10_000, WEIGHT_SCALE),  # closed book: all of it
        (2.0, 0.0, 10_000, 0),  # the adapter gave nothing
        (None, None, 10_000, 0),  # nothing measured
        (-1.0, 1.0, 10_000, WEIGHT_SCALE),  # a negative gain counts as none
        (1.0, 1.0, 0, 0),  # weight 0: training data is never paid
    ],
)
def test_the_governed_rule_divides_by_the_measured_gains(context, training, weight, want):
    assert training_share_ppm(context, training, weight) == want


def test_a_negative_training_weight_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        training_share_ppm(1.0, 1.0, -1)


@pytest.mark.parametrize(
    "bad",
    [{"weight_ppm": "1000000"}, {"weight_ppm": True}, {"datanet": 1.5}, {"cid": 7}],
)
def test_a_receipt_whose_sources_are_not_typed_as_signed_is_refused_on_reading(bad):
    from tessera._errors import InputError

    t = _sources([WEIGHT_SCALE], "t")
    body = receipt(training=t, training_share_ppm=100_000).signed_by(NODE).to_json()
    for side in ("attribution", "training"):
        hostile = {**body, side: [{**body[side][0], **bad}]}
        with pytest.raises(InputError, match="not a Tessera receipt"):
            Receipt.from_json(hostile)

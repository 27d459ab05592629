import dataclasses

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from tessera._attribution.weights import to_ppm, weights_from_effects, weights_from_scores
from tessera._crypto.receipt import WEIGHT_SCALE, AttributedSource, DatanetSnapshot, Receipt
from tessera._errors import InputError, SignatureError
from tessera._store.cid import cid_for

NODE = Account.create()


def receipt(**changes):
    base = Receipt(
        id="chatcmpl-1",
        node=NODE.address,
        chain_id=31337,
        verifying_contract="0x" + "11" * 20,
        request={"messages": [{"role": "user", "content": "who?"}]},
        response_text="Radul",
        model="gemma-3-270m",
        datanets=(DatanetSnapshot(1, "0x" + "ab" * 32, 2),),
        attribution=(
            AttributedSource(cid_for(b"a"), Account.create().address, 1, 600_000),
            AttributedSource(cid_for(b"b"), Account.create().address, 1, 400_000),
        ),
        price=123 * 10**12,
        client="0x" + "00" * 20,
        timestamp=1_700_000_000,
    )
    return dataclasses.replace(base, **changes)


def test_a_signed_receipt_verifies_and_round_trips_through_json():
    signed = receipt().signed_by(NODE)
    signed.verify()
    again = Receipt.from_json(signed.to_json())
    assert again == signed
    again.verify()


@pytest.mark.parametrize(
    "change",
    [
        {"response_text": "Someone else"},
        {"price": 1},
        {"model": "other"},
        {"request": {"messages": []}},
        {"client": "0x" + "22" * 20},
        {"timestamp": 1},
        {"datanets": (DatanetSnapshot(1, "0x" + "cd" * 32, 2),)},
        {"datanets": (DatanetSnapshot(1, "0x" + "ab" * 32, 3),)},
    ],
)
def test_changing_any_signed_field_breaks_the_signature(change):
    forged = dataclasses.replace(receipt().signed_by(NODE), **change)
    with pytest.raises(SignatureError, match="was not signed by node"):
        forged.verify()


def test_reweighting_the_attribution_breaks_the_signature():
    signed = receipt().signed_by(NODE)
    a, b = signed.attribution
    swapped = (
        dataclasses.replace(a, weight_ppm=400_000),
        dataclasses.replace(b, weight_ppm=600_000),
    )
    with pytest.raises(SignatureError, match="was not signed by node"):
        dataclasses.replace(signed, attribution=swapped).verify()


def test_weights_must_sum_to_the_scale_and_be_positive():
    bad_sum = receipt(attribution=(AttributedSource(cid_for(b"a"), NODE.address, 1, 5),))
    with pytest.raises(SignatureError, match="sum to 5 ppm"):
        bad_sum.signed_by(NODE).verify()
    zero = receipt(
        attribution=(
            AttributedSource(cid_for(b"a"), NODE.address, 1, WEIGHT_SCALE),
            AttributedSource(cid_for(b"b"), NODE.address, 1, 0),
        )
    )
    with pytest.raises(SignatureError, match="positive weight"):
        zero.signed_by(NODE).verify()


def test_unsigned_malformed_and_foreign_signatures_are_refused():
    with pytest.raises(SignatureError, match="not signed"):
        receipt().verify()
    with pytest.raises(SignatureError, match="malformed"):
        receipt(signature="0x1234").verify()
    with pytest.raises(SignatureError, match="but .* signs it"):
        receipt().signed_by(Account.create())


def test_files_that_are_not_receipts_are_refused():
    with pytest.raises(InputError, match="not a Tessera receipt"):
        Receipt.from_json({"id": "x"})
    with pytest.raises(InputError, match="not a Tessera receipt"):
        Receipt.from_json([1, 2])  # type: ignore[arg-type]


def test_effects_below_the_threshold_get_exactly_zero():
    assert weights_from_effects([6.0, 0.4, 2.0, -1.0], min_effect=1.0) == [0.75, 0.0, 0.25, 0.0]
    assert weights_from_effects([0.2, -3.0]) == [0.0, 0.0]
    assert weights_from_scores([2.0, -1.0, 2.0]) == [0.5, 0.0, 0.5]


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=12))
def test_ppm_shares_are_exact_and_follow_the_weights(weights):
    ppm = to_ppm(weights)
    if any(w > 0 for w in weights):
        assert sum(ppm) == WEIGHT_SCALE
    else:
        assert ppm == [0] * len(weights)
    total = sum(weights)
    for w, p in zip(weights, ppm, strict=True):
        assert w > 0 or p == 0
        if total > 0:
            assert abs(p - w / total * WEIGHT_SCALE) < 1

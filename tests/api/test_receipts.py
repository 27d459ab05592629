"""`Tessera.ask` keeps only receipts that check out; `Tessera.load_receipt` reads them back."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tessera import InputError, Receipt, SignatureError, Tessera

QUESTION = "Who founded the Ulora Brewery?"


@pytest.fixture(scope="module")
def asked(paying):
    return paying.t.ask(QUESTION, paying.url, account="client")


def test_ask_pays_and_saves_a_receipt_that_verifies_on_chain(paying, asked):
    t = paying.t
    assert asked.receipt is not None and asked.receipt.price > 0  # paid with a voucher
    assert asked.receipt.client.lower() == t.address("client").lower()
    assert asked.saved == t.home.path / "receipts" / f"{asked.receipt.id}.json"
    loaded = Tessera.load_receipt(asked.saved)
    assert loaded == asked.receipt
    t.verify_receipt(loaded)  # signature, hashes and chain state


def test_a_tampered_receipt_is_refused_and_not_saved(paying, asked):
    assert asked.receipt is not None
    forged = replace(asked.receipt, id="chatcmpl-forged", price=asked.receipt.price // 2)
    with pytest.raises(SignatureError, match="was not signed by node"):
        paying.t.save_receipt(forged)
    assert not (paying.t.home.path / "receipts" / "chatcmpl-forged.json").exists()


def test_a_receipt_id_that_is_not_a_plain_name_never_becomes_a_path(paying, asked):
    # the id is not signed: a node can send any, and the signature still checks out
    assert asked.receipt is not None
    escaping = replace(asked.receipt, id="../escaped")
    escaping.verify()
    with pytest.raises(InputError, match="is not a plain name"):
        paying.t.save_receipt(escaping)
    assert not (paying.t.home.path / "escaped.json").exists()


def test_a_saved_receipt_round_trips_through_its_file(paying, asked, tmp_path):
    assert asked.receipt is not None
    path = paying.t.save_receipt(asked.receipt)
    assert json.loads(path.read_text())["signature"] == asked.receipt.signature
    assert Receipt.from_json(json.loads(path.read_text())) == asked.receipt


def test_load_receipt_on_a_file_that_is_not_json_says_what_to_do(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text("{oops")
    with pytest.raises(InputError) as caught:
        Tessera.load_receipt(path)
    assert str(caught.value) == f"{path} is not JSON: pass a receipt file saved by `tessera ask`"


def test_load_receipt_on_json_that_is_not_a_receipt(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a Tessera receipt"):
        Tessera.load_receipt(path)


def test_load_receipt_on_a_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"cannot read .*missing\.json .*`tessera ask`"):
        Tessera.load_receipt(tmp_path / "missing.json")

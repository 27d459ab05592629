"""A settlement interrupted at any step resumes: nothing posted twice, no receipt lost."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from gov_helpers import enact

from tessera._chain.settlement import FeeSplit
from tessera._errors import ChainError
from tessera._payments.bundle import load_bundle
from tessera._payments.ledger import BUILT, POSTED, ReceiptDB


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def _db(t) -> ReceiptDB:
    return ReceiptDB(t.home.node_db_path(t.config.deployment, t.address("operator")))


def _ask_three(alice):
    for q in ("Who founded the Ulora Brewery?", "What colour does the Pleno Orchestra use?"):
        alice.ask(q)
    return alice.payer.spent(alice.models()[0]["tessera"]["node"])


def test_a_crash_after_building_posts_the_same_bundle_once(paying, alice, monkeypatch):
    t, node = paying.t, paying.service.node_key.address
    spent = _ask_three(alice)
    monkeypatch.setattr(type(t.settlement), "post_epoch", _crash)
    with pytest.raises(Crash):
        t.settle_epoch("operator")
    (row,) = _db(t).epochs()
    assert row.status == BUILT and t.settlement.epoch_count(node) == 0
    monkeypatch.undo()
    result = t.settle_epoch("operator")
    assert (result.epoch, result.bundle_cid, result.redeemed) == (0, row.bundle_cid, spent)
    assert t.settlement.epoch_count(node) == 1 and [r.status for r in _db(t).epochs()] == [POSTED]
    assert t.settle_epoch("operator") is None


def test_a_crash_after_the_transaction_is_mined_does_not_post_again(paying, alice, monkeypatch):
    t, node = paying.t, paying.service.node_key.address
    spent = _ask_three(alice)
    monkeypatch.setattr(ReceiptDB, "mark_posted", _crash)
    with pytest.raises(Crash):
        t.settle_epoch("operator")
    assert t.settlement.epoch_count(node) == 1  # on chain, but the database does not know
    monkeypatch.undo()
    resumed = t.settle_epoch("operator")
    assert resumed.gas is None and resumed.redeemed == spent  # recognised, not re-sent
    assert t.settlement.epoch_count(node) == 1 and t.settlement.node_redeemed(node) == spent
    assert t.audit_epoch(0).ok


def test_an_epoch_on_chain_under_another_receipts_root_is_named_not_marked(
    paying, alice, monkeypatch
):
    t, node = paying.t, paying.service.node_key.address
    _ask_three(alice)
    post = type(t.settlement).post_epoch

    def another_receipts_root(self, sender, epoch, root, total, cid, count, receipts, *rest):
        return post(self, sender, epoch, root, total, cid, count, keccak(receipts), *rest)

    monkeypatch.setattr(type(t.settlement), "post_epoch", another_receipts_root)
    monkeypatch.setattr(ReceiptDB, "mark_posted", _crash)
    with pytest.raises(Crash):
        t.settle_epoch("operator")
    monkeypatch.undo()
    (row,) = _db(t).epochs()
    bundle = load_bundle(t.store, row.bundle_cid)
    wrong = "0x" + keccak(hexstr=bundle.receipts_root).hex()
    with pytest.raises(ChainError, match=f"receipts root {wrong}, not this database's"):
        t.settle_epoch("operator")
    assert [r.status for r in _db(t).epochs()] == [BUILT]  # never marked as its own
    assert t.settlement.epoch(node, 0).root.hex() == bundle.root.removeprefix("0x")
    report = t.audit_epoch(0)
    assert report.problems == [
        "the recomputed receipts root differs from the receipts root on chain"
    ]
    assert (report.receipts_root_on_chain, report.receipts_root_recomputed) == (
        wrong,
        bundle.receipts_root,
    )


def test_a_fee_split_changed_before_posting_is_rebuilt_under_the_new_split(
    paying, alice, monkeypatch
):
    t, node = paying.t, paying.service.node_key.address
    _ask_three(alice)
    monkeypatch.setattr(type(t.settlement), "post_epoch", _crash)
    with pytest.raises(Crash):
        t.settle_epoch("operator")  # built under the old split
    monkeypatch.undo()
    new = FeeSplit(1_000, 1_000, 7_000, 1_000, t.address("default"))
    enact(t, t.gov.actions.fee_split(new), "more to contributors")
    result = t.settle_epoch("operator")
    posted = t.settlement.epoch(node, 0)
    assert posted.split == new and result.bundle_cid == posted.bundle_cid
    assert t.audit_epoch(0).ok


def test_receipts_served_while_settling_wait_for_the_next_epoch(paying, alice):
    t = paying.t
    _ask_three(alice)
    first = t.settle_epoch("operator")
    alice.ask("When was the Lunqui Brewery founded?")
    assert len(_db(t).unsettled()) == 1 and first.receipts == 2


def _crash(*args, **kwargs):
    raise Crash

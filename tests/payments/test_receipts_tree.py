"""Every receipt of an epoch proves against the posted receipts root, at its own position only."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera._chain.settlement import FeeSplit
from tessera._crypto.receipt import Receipt
from tessera._payments.bundle import EpochBundle, build_bundle
from tessera._payments.receipts_tree import PayoutState, ReceiptsTree, receipt_leaf

NODE = Account.from_key(keccak(text="receipts tree node"))
CLIENT, TREASURY = (Account.from_key(keccak(text=n)).address for n in ("client", "treasury"))
SETTLEMENT = Account.from_key(keccak(text="settlement")).address


def _receipt(i: int) -> Receipt:
    body = Receipt(
        f"r{i}",
        NODE.address,
        1,
        SETTLEMENT,
        {"q": i},
        f"answer {i}",
        "m",
        (),
        (),
        10 + i,
        CLIENT,
        i,
    )
    return body.signed_by(NODE)


RECEIPTS = [_receipt(i) for i in range(9)]


def _bundle(receipts: list[Receipt]) -> EpochBundle:
    split = FeeSplit(3_000, 2_000, 4_000, 1_000, TREASURY)
    return build_bundle(NODE.address, 1, SETTLEMENT, 0, split, {"m": None}, receipts, [], {})


@settings(max_examples=20, deadline=None)
@given(st.integers(1, len(RECEIPTS)))
def test_every_receipt_proves_at_its_index_and_at_no_other(n):
    receipts = RECEIPTS[:n]
    tree = ReceiptsTree(receipts)
    for i, receipt in enumerate(receipts):
        assert ReceiptsTree.verify(tree.root, i, receipt, tree.proof(i))
        if n > 1:  # one receipt cannot stand at another's position, nor another at its own
            other = (i + 1) % n
            assert not ReceiptsTree.verify(tree.root, other, receipt, tree.proof(other))
            assert not ReceiptsTree.verify(tree.root, i, receipts[other], tree.proof(i))


def test_the_leaf_commits_to_what_the_node_signed_and_to_the_whole_body():
    tree = ReceiptsTree(RECEIPTS)
    receipt, proof = RECEIPTS[3], tree.proof(3)
    # its digest is the one the node's signature recovers from, as the contract checks it
    assert Account._recover_hash(receipt.digest(), signature=receipt.signature) == NODE.address
    # the body a node produces when challenged parses back to the same leaf
    assert ReceiptsTree.verify(tree.root, 3, Receipt.from_body(receipt.body_bytes()), proof)
    changed = {
        "a field the node signed": replace(receipt, price=receipt.price + 1).signed_by(NODE),
        "the signature": replace(receipt, signature=RECEIPTS[4].signature),
        "only the body": replace(receipt, id="another id"),  # the id is not in the digest
    }
    for what, forged in changed.items():
        assert receipt_leaf(3, forged) != receipt_leaf(3, receipt), what
        assert not ReceiptsTree.verify(tree.root, 3, forged, proof), what


def test_a_bundle_posts_the_root_of_its_receipts_in_bundle_order():
    bundle = _bundle(RECEIPTS[:4])
    assert len(bundle.trace) == 4  # the payout state after each receipt, in bundle order
    assert bundle.receipts_root == "0x" + ReceiptsTree(RECEIPTS[:4], bundle.trace).root.hex()
    assert bundle.receipts_root == "0x" + bundle.receipts_tree.root.hex()
    # each leaf commits to the payout state after its receipt: another state, another leaf
    state = bundle.trace[2]
    other = PayoutState(state.root, state.total + 1)
    assert receipt_leaf(2, RECEIPTS[2], state) != receipt_leaf(2, RECEIPTS[2], other)
    assert receipt_leaf(2, RECEIPTS[2], state) != receipt_leaf(
        2, RECEIPTS[2], PayoutState(bundle.trace[1].root, state.total)
    )
    assert ReceiptsTree.verify(
        bundle.receipts_tree.root, 2, RECEIPTS[2], bundle.receipts_tree.proof(2), state
    )
    assert not ReceiptsTree.verify(
        bundle.receipts_tree.root, 2, RECEIPTS[2], bundle.receipts_tree.proof(2), other
    )
    assert bundle.receipts_root != "0x" + ReceiptsTree(RECEIPTS[:4]).root.hex()  # states count
    reordered = _bundle([RECEIPTS[1], RECEIPTS[0], *RECEIPTS[2:4]])
    assert reordered.root == bundle.root  # the same payouts ...
    assert reordered.receipts_root != bundle.receipts_root  # ... but not the same receipts
    # recomputed from the receipts it reads back, never carried as a field to trust
    assert EpochBundle.from_bytes(bundle.to_bytes()).receipts_root == bundle.receipts_root
    assert "receipts_root" not in bundle.to_bytes().decode()


def test_an_empty_tree_and_a_proof_outside_it_are_refused():
    with pytest.raises(ValueError, match="at least one receipt"):
        ReceiptsTree([])
    with pytest.raises(IndexError, match="outside a tree of 3 leaves"):
        ReceiptsTree(RECEIPTS[:3]).proof(3)

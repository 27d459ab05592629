"""Every unit of every price goes to a named recipient, in proportion to attribution."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera._chain.settlement import BPS, FeeSplit
from tessera._crypto.receipt import WEIGHT_SCALE, AttributedSource, Receipt
from tessera._payments.payouts import PayoutTree, root_of
from tessera._payments.split import (
    CONTRIBUTOR,
    NODE,
    OWNER,
    TREASURY,
    VALIDATORS,
    split_receipt,
    totals,
)
from tessera._store.cid import cid_for

NODE_ADDR, TREASURY_ADDR, OWNER_ADDR, POOL_ADDR = (
    Account.from_key(keccak(text=n)).address for n in "ntov"
)
CONTRIBUTORS = [Account.from_key(keccak(text=f"c{i}")).address for i in range(6)]
ZERO_ADDR = "0x" + "00" * 20


@st.composite
def splits(draw) -> FeeSplit:
    cuts = sorted(draw(st.lists(st.integers(0, BPS), min_size=4, max_size=4)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, BPS], strict=True)]
    return FeeSplit(*parts[:4], TREASURY_ADDR, parts[4], POOL_ADDR)


@st.composite
def attributions(draw) -> tuple[AttributedSource, ...]:
    n = draw(st.integers(0, 6))
    if n == 0:
        return ()
    cuts = sorted(
        draw(
            st.lists(st.integers(1, WEIGHT_SCALE - 1), min_size=n - 1, max_size=n - 1, unique=True)
        )
    )
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, WEIGHT_SCALE], strict=True)]
    return tuple(
        AttributedSource(cid_for(f"doc {i}".encode()), CONTRIBUTORS[i], 1, w)
        for i, w in enumerate(weights)
    )


def _receipt(price: int, attribution) -> Receipt:
    return Receipt(
        "r", NODE_ADDR, 1, NODE_ADDR, {}, "answer", "m", (), attribution, price, NODE_ADDR, 0
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**30), splits(), attributions(), st.booleans())
def test_a_split_pays_exactly_the_price_to_named_recipients(price, split, sources, owned):
    credits = split_receipt(_receipt(price, sources), split, OWNER_ADDR if owned else None)
    assert sum(c.amount for c in credits) == price
    assert all(c.amount > 0 for c in credits)
    paid = totals(credits)
    pool = price * split.contributors_bps // BPS
    if not sources:
        assert not any(c.role == CONTRIBUTOR for c in credits)
    for s in sources:  # in proportion to weight, within the one-unit floor and the remainder
        exact = pool * s.weight_ppm // WEIGHT_SCALE
        assert exact <= paid.get(s.contributor, 0) <= exact + len(sources)
    node_cut = sum(c.amount for c in credits if c.role == NODE)
    assert node_cut >= price * split.node_bps // BPS
    assert paid.get(POOL_ADDR, 0) == price * split.validators_bps // BPS  # floored, no remainder
    assert all(c.recipient == POOL_ADDR for c in credits if c.role == VALIDATORS)
    if not owned:
        assert not any(c.role == OWNER for c in credits)
    assert {c.role for c in credits} <= {NODE, OWNER, CONTRIBUTOR, TREASURY, VALIDATORS}


def test_an_answer_without_attribution_pays_the_contributors_pool_to_the_treasury():
    split = FeeSplit(3_000, 2_000, 4_000, 1_000, TREASURY_ADDR)
    paid = totals(split_receipt(_receipt(10_000, ()), split, OWNER_ADDR))
    assert paid == {NODE_ADDR: 3_000, OWNER_ADDR: 2_000, TREASURY_ADDR: 5_000}


def test_the_validators_pool_is_paid_its_share_and_the_node_the_remainder():
    split = FeeSplit(3_000, 2_000, 4_000, 500, TREASURY_ADDR, 500, POOL_ADDR)
    credits = split_receipt(_receipt(10_000, ()), split, OWNER_ADDR)
    assert totals(credits) == {
        NODE_ADDR: 3_000,
        OWNER_ADDR: 2_000,
        TREASURY_ADDR: 4_500,  # its 500 and the unattributed contributors' pool
        POOL_ADDR: 500,
    }
    assert [c.role for c in credits if c.recipient == POOL_ADDR] == [VALIDATORS]
    # 199 * 500 // 10000 = 9 (of 9.95): the floored fraction is the node's, as every cut's
    paid = totals(split_receipt(_receipt(199, ()), split, OWNER_ADDR))
    assert paid[POOL_ADDR] == 9 and paid[NODE_ADDR] == 199 - 9 - 39 - 9 - 79


def test_a_split_without_a_validators_share_credits_no_pool():
    split = FeeSplit(3_000, 2_000, 4_000, 1_000, TREASURY_ADDR, 0, ZERO_ADDR)
    credits = split_receipt(_receipt(10_000, ()), split, OWNER_ADDR)
    assert not any(c.role == VALIDATORS for c in credits)
    assert ZERO_ADDR not in totals(credits)
    # a share too small to be one unit of a price is no credit either
    tiny = FeeSplit(3_000, 2_000, 4_000, 999, TREASURY_ADDR, 1, POOL_ADDR)
    assert POOL_ADDR not in totals(split_receipt(_receipt(9_999, ()), tiny, OWNER_ADDR))


def test_the_rounding_remainders_go_to_the_node_and_the_top_contributor():
    split = FeeSplit(3_333, 3_333, 3_333, 1, TREASURY_ADDR)
    sources = tuple(
        AttributedSource(cid_for(bytes([i])), CONTRIBUTORS[i], 1, w)
        for i, w in enumerate((333_333, 333_334, 333_333))
    )
    paid = totals(split_receipt(_receipt(101, sources), split, OWNER_ADDR))
    # cuts: pool 33, royalty 33, treasury 0, node 101 - 66 = 35; the pool floors to
    # 10 + 11 + 10 = 31 and its remainder 2 goes to the top weight
    assert paid[NODE_ADDR] == 35 and paid[OWNER_ADDR] == 33
    assert [paid[c] for c in CONTRIBUTORS[:3]] == [10, 13, 10]
    paid = totals(split_receipt(_receipt(103, sources), split, OWNER_ADDR))
    assert [paid[c] for c in CONTRIBUTORS[:3]] == [11, 12, 11]  # pool 34 = 11 * 3 + 1


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(CONTRIBUTORS), st.integers(1, 10**24), min_size=1))
def test_every_payout_leaf_proves_against_the_root(amounts):
    tree = PayoutTree(NODE_ADDR, amounts)
    assert tree.total == sum(amounts.values())
    for recipient, amount in amounts.items():
        cumulative, proof = tree.proof(recipient)
        assert cumulative == amount
        assert root_of(NODE_ADDR, recipient, amount, proof) == tree.root
        assert root_of(NODE_ADDR, recipient, amount + 1, proof) != tree.root
    # a recipient owed nothing proves its zero leaf; crediting it gives the new tree's root
    outsider = OWNER_ADDR
    assert root_of(NODE_ADDR, outsider, 0, tree.leaf_proof(outsider)) == tree.root
    grown = tree.copy()
    grown.credit(outsider, 5)
    assert root_of(NODE_ADDR, outsider, 5, tree.leaf_proof(outsider)) == grown.root
    # the root depends on the amounts, not on the order they were credited in
    assert PayoutTree(NODE_ADDR, dict(reversed(list(amounts.items())))).root == tree.root

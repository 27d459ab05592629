import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tessera._crypto.merkle import MerkleTree, hash_pair, verify


def leaves(n):
    return [keccak(i.to_bytes(4, "big")) for i in range(n)]


def test_single_leaf_tree_has_the_leaf_as_root_and_an_empty_proof():
    tree = MerkleTree(leaves(1))
    assert tree.root == leaves(1)[0]
    assert tree.proof(0) == []


def test_three_leaves_promote_the_odd_one():
    a, b, c = leaves(3)
    tree = MerkleTree([a, b, c])
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(2) == [hash_pair(a, b)]


@given(st.integers(min_value=1, max_value=70))
def test_every_leaf_proves_against_the_root(n):
    tree = MerkleTree(leaves(n))
    for i, leaf in enumerate(leaves(n)):
        assert verify(tree.proof(i), tree.root, leaf)


def test_a_proof_does_not_prove_another_leaf():
    tree = MerkleTree(leaves(8))
    assert not verify(tree.proof(0), tree.root, leaves(8)[1])


def test_empty_tree_and_out_of_range_proof_are_refused():
    with pytest.raises(ValueError, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(IndexError):
        MerkleTree(leaves(3)).proof(3)

"""policy.vy: approved model versions, the content policy and the training weight, every path
with exact reasons."""

from __future__ import annotations

import pytest
from chain_helpers import events
from eth_utils import keccak
from web3 import Web3

ZERO = "0x" + "00" * 20
NOT_OWNER = "ownable: caller is not the owner"
DIGEST = keccak(text="weights v1")
OTHER_DIGEST = keccak(text="weights v2")


def version(policy) -> int:
    return policy.functions.version().call()


def models(policy) -> list[tuple[str, bytes]]:
    """(id, digest) of every approved version; `owners` has whom each one pays."""
    return [(m, d) for m, d, _ in policy.functions.approved_models().call()]


BUILDER = "0x" + "b1" * 20


def digest(i: int) -> bytes:
    return keccak(text=f"weights {i}")


@pytest.fixture
def owner(accounts) -> str:
    return accounts[0]


@pytest.fixture
def stranger(accounts) -> str:
    return accounts[3]


@pytest.fixture
def policy(deploy):
    return deploy("policy")


@pytest.fixture
def approve(policy, owner):
    def _approve(model_id: str, weights: bytes, sender: str | None = None, paid: str = BUILDER):
        fn = policy.functions.approve_model(model_id, weights, Web3.to_checksum_address(paid))
        return fn.transact({"from": sender or owner})

    return _approve


@pytest.fixture
def revoke(policy, owner):
    def _revoke(model_id: str, weights: bytes, sender: str | None = None):
        return policy.functions.revoke_model(model_id, weights).transact({"from": sender or owner})

    return _revoke


@pytest.fixture
def block(policy, owner):
    def _block(cid: str, sender: str | None = None):
        return policy.functions.block_content(cid).transact({"from": sender or owner})

    return _block


@pytest.fixture
def unblock(policy, owner):
    def _unblock(cid: str, sender: str | None = None):
        return policy.functions.unblock_content(cid).transact({"from": sender or owner})

    return _unblock


@pytest.fixture
def block_net(policy, owner):
    def _block_net(datanet: int, sender: str | None = None):
        return policy.functions.block_datanet(datanet).transact({"from": sender or owner})

    return _block_net


@pytest.fixture
def unblock_net(policy, owner):
    def _unblock_net(datanet: int, sender: str | None = None):
        return policy.functions.unblock_datanet(datanet).transact({"from": sender or owner})

    return _unblock_net


@pytest.fixture
def set_weight(policy, owner):
    def _set_weight(weight_bps: int, sender: str | None = None):
        return policy.functions.set_training_weight(weight_bps).transact({"from": sender or owner})

    return _set_weight


def training_weight(policy) -> tuple[int, int, int]:
    """(current, previous, since) of the training weight."""
    p = policy.functions
    return (
        p.training_weight_bps().call(),
        p.previous_training_weight_bps().call(),
        p.training_weight_since().call(),
    )


# ownership ----------------------------------------------------------------------------------


def test_deployer_owns_an_empty_policy(policy, owner):
    p = policy.functions
    assert p.owner().call() == owner
    assert p.version().call() == 0
    assert p.approved_models().call() == []
    assert p.blocked_content().call() == []
    assert p.blocked_datanets().call() == []
    assert not p.is_model_approved("m", DIGEST).call()
    assert not p.is_content_blocked("cid").call()
    assert not p.is_datanet_blocked(1).call()
    assert training_weight(policy) == (10_000, 10_000, 0)  # 1.0, never changed


def test_ownership_can_be_transferred_not_renounced(policy, owner, stranger, reverts, block):
    tx = policy.functions.transfer_ownership(stranger).transact({"from": owner})
    (event,) = events(policy, "OwnershipTransferred", tx)
    assert (event.args.previous_owner, event.args.new_owner) == (owner, stranger)
    assert policy.functions.owner().call() == stranger
    with reverts(NOT_OWNER):
        block("cid", sender=owner)
    block("cid", sender=stranger)
    assert version(policy) == 1
    assert "renounce_ownership" not in {f["name"] for f in policy.abi if f["type"] == "function"}


def test_transfer_ownership_refusals(policy, owner, stranger, reverts):
    with reverts(NOT_OWNER):
        policy.functions.transfer_ownership(stranger).transact({"from": stranger})
    with reverts("ownable: new owner is the zero address"):
        policy.functions.transfer_ownership(ZERO).transact({"from": owner})
    assert policy.functions.owner().call() == owner


def test_every_change_is_owner_only(policy, stranger, reverts, approve, block, block_net):
    # set something up so every removal would otherwise succeed
    approve("m", DIGEST)
    block("cid")
    block_net(1)
    calls = [
        policy.functions.approve_model("n", DIGEST, stranger),
        policy.functions.approve_model("", b"\x00" * 32, ZERO),  # the owner check comes first
        policy.functions.revoke_model("m", DIGEST),
        policy.functions.block_content("other"),
        policy.functions.block_content(""),
        policy.functions.unblock_content("cid"),
        policy.functions.block_datanet(2),
        policy.functions.block_datanet(0),
        policy.functions.unblock_datanet(1),
        policy.functions.set_training_weight(20_000),
        policy.functions.set_training_weight(10**6),  # out of bounds: the owner check comes first
    ]
    for call in calls:
        with reverts(NOT_OWNER):
            call.transact({"from": stranger})
    assert version(policy) == 3
    assert training_weight(policy) == (10_000, 10_000, 0)


# models -------------------------------------------------------------------------------------


def test_approve_model(policy, approve):
    tx = approve("llama-3-8b", DIGEST)
    assert policy.functions.is_model_approved("llama-3-8b", DIGEST).call()
    assert models(policy) == [("llama-3-8b", DIGEST)]
    assert version(policy) == 1
    (event,) = events(policy, "ModelApproved", tx)
    assert (event.args.model_id, event.args.weights_digest) == ("llama-3-8b", DIGEST)
    assert event.args.owner == Web3.to_checksum_address(BUILDER)


def test_the_vote_names_each_versions_royalty_owner(policy, approve, revoke, accounts):
    """Whoever names a model first cannot take its royalty: the approval names the owner."""
    p = policy.functions
    assert p.model_owner("m", DIGEST).call() == ZERO  # unapproved: nobody
    approve("m", DIGEST, paid=accounts[5])
    approve("m", OTHER_DIGEST, paid=accounts[6])  # each version its own owner
    approve("n", DIGEST, paid=ZERO)  # approved, royalty to the treasury
    assert p.model_owner("m", DIGEST).call() == accounts[5]
    assert p.model_owner("m", OTHER_DIGEST).call() == accounts[6]
    assert p.model_owner("n", DIGEST).call() == ZERO
    assert p.model_owner("M", DIGEST).call() == ZERO
    revoke("m", DIGEST)  # the swap-and-pop keeps the other versions' owners
    assert p.model_owner("m", DIGEST).call() == ZERO
    assert p.model_owner("m", OTHER_DIGEST).call() == accounts[6]


def test_a_model_version_is_its_id_and_digest(policy, approve):
    approve("m", DIGEST)
    approve("m", OTHER_DIGEST)  # a second version of the same model
    approve("n", DIGEST)  # another model with the same weights
    p = policy.functions
    assert p.is_model_approved("m", DIGEST).call()
    assert p.is_model_approved("m", OTHER_DIGEST).call()
    assert p.is_model_approved("n", DIGEST).call()
    assert not p.is_model_approved("n", OTHER_DIGEST).call()
    assert not p.is_model_approved("M", DIGEST).call()
    assert version(policy) == 3


@pytest.mark.parametrize(
    ("model_id", "weights", "reason"),
    [
        ("", DIGEST, "policy: empty model id"),
        ("m", b"\x00" * 32, "policy: zero weights digest"),
        ("", b"\x00" * 32, "policy: empty model id"),
    ],
)
def test_approve_model_refuses_invalid_versions(
    policy, approve, reverts, model_id, weights, reason
):
    with reverts(reason):
        approve(model_id, weights)
    assert version(policy) == 0
    assert models(policy) == []


def test_approve_model_refuses_an_approved_version(policy, approve, reverts):
    approve("m", DIGEST)
    with reverts("policy: model version already approved"):
        approve("m", DIGEST)
    assert version(policy) == 1
    assert models(policy) == [("m", DIGEST)]


def test_model_list_holds_64_versions(policy, approve, revoke, reverts):
    for i in range(64):
        approve(f"m{i}", digest(i))
    assert version(policy) == 64
    with reverts("policy: model list full"):
        approve("m64", digest(64))
    with reverts("policy: model version already approved"):  # checked before fullness
        approve("m0", digest(0))
    assert version(policy) == 64
    assert len(models(policy)) == 64
    revoke("m10", digest(10))
    approve("m64", digest(64))
    assert version(policy) == 66
    assert policy.functions.is_model_approved("m64", digest(64)).call()
    listed = models(policy)
    assert (listed[10], listed[-1]) == (("m63", digest(63)), ("m64", digest(64)))  # swapped, popped


def test_revoke_model(policy, approve, revoke):
    approve("m", DIGEST)
    tx = revoke("m", DIGEST)
    assert not policy.functions.is_model_approved("m", DIGEST).call()
    assert models(policy) == []
    assert version(policy) == 2
    (event,) = events(policy, "ModelRevoked", tx)
    assert (event.args.model_id, event.args.weights_digest) == ("m", DIGEST)
    approve("m", DIGEST)  # and it can be approved again
    assert models(policy) == [("m", DIGEST)]
    assert version(policy) == 3


def test_was_approved_outlives_a_revocation(policy, approve, revoke):
    was = policy.functions.was_approved
    assert not was("m", DIGEST).call()
    approve("m", DIGEST)
    revoke("m", DIGEST)
    assert was("m", DIGEST).call()
    assert not policy.functions.is_model_approved("m", DIGEST).call()
    assert not was("m", OTHER_DIGEST).call()  # another version of the id
    assert not was("n", DIGEST).call()  # the digest under another id


def test_revoke_model_refuses_a_version_not_approved(policy, approve, revoke, reverts):
    with reverts("policy: model version not approved"):
        revoke("m", DIGEST)
    approve("m", DIGEST)
    with reverts("policy: model version not approved"):
        revoke("m", OTHER_DIGEST)
    with reverts("policy: model version not approved"):
        revoke("n", DIGEST)
    revoke("m", DIGEST)
    with reverts("policy: model version not approved"):
        revoke("m", DIGEST)
    assert version(policy) == 2


@pytest.mark.parametrize(
    ("removed", "left"),
    [(0, ["c", "b"]), (1, ["a", "c"]), (2, ["a", "b"])],
    ids=["first", "middle", "last"],
)
def test_revoke_model_swaps_and_pops(policy, approve, revoke, removed, left):
    names = ["a", "b", "c"]
    for name in names:
        approve(name, DIGEST)
    revoke(names[removed], DIGEST)
    assert models(policy) == [(name, DIGEST) for name in left]
    assert not policy.functions.is_model_approved(names[removed], DIGEST).call()
    # the survivors' positions stay right: each is revoked cleanly, moved or not
    remaining = list(left)
    for name in list(left):
        assert policy.functions.is_model_approved(name, DIGEST).call()
        revoke(name, DIGEST)
        remaining.remove(name)
        assert sorted(m[0] for m in models(policy)) == sorted(remaining)
    assert models(policy) == []
    assert version(policy) == 6


# content ------------------------------------------------------------------------------------


def test_block_content(policy, block):
    cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    tx = block(cid)
    assert policy.functions.is_content_blocked(cid).call()
    assert policy.functions.blocked_content().call() == [cid]
    assert version(policy) == 1
    (event,) = events(policy, "ContentBlocked", tx)
    assert (event.args.cid_hash, event.args.cid) == (keccak(text=cid), cid)


def test_block_content_refusals(policy, block, reverts):
    with reverts("policy: empty cid"):
        block("")
    block("cid")
    with reverts("policy: content already blocked"):
        block("cid")
    assert version(policy) == 1
    assert policy.functions.blocked_content().call() == ["cid"]


def test_unblock_content(policy, block, unblock):
    block("cid")
    tx = unblock("cid")
    assert not policy.functions.is_content_blocked("cid").call()
    assert policy.functions.blocked_content().call() == []
    assert version(policy) == 2
    (event,) = events(policy, "ContentUnblocked", tx)
    assert (event.args.cid_hash, event.args.cid) == (keccak(text="cid"), "cid")
    block("cid")
    assert policy.functions.blocked_content().call() == ["cid"]


def test_unblock_content_refuses_content_not_blocked(policy, block, unblock, reverts):
    for cid in ("cid", ""):
        with reverts("policy: content not blocked"):
            unblock(cid)
    block("cid")
    unblock("cid")
    with reverts("policy: content not blocked"):
        unblock("cid")
    assert version(policy) == 2


@pytest.mark.parametrize(
    ("removed", "left"),
    [(0, ["c", "b"]), (1, ["a", "c"]), (2, ["a", "b"])],
    ids=["first", "middle", "last"],
)
def test_unblock_content_swaps_and_pops(policy, block, unblock, removed, left):
    cids = ["a", "b", "c"]
    for cid in cids:
        block(cid)
    unblock(cids[removed])
    assert policy.functions.blocked_content().call() == left
    assert not policy.functions.is_content_blocked(cids[removed]).call()
    remaining = list(left)
    for cid in list(left):
        assert policy.functions.is_content_blocked(cid).call()
        unblock(cid)
        remaining.remove(cid)
        assert sorted(policy.functions.blocked_content().call()) == sorted(remaining)
    assert version(policy) == 6


# datanets -----------------------------------------------------------------------------------


def test_block_datanet(policy, block_net):
    tx = block_net(7)
    assert policy.functions.is_datanet_blocked(7).call()
    assert policy.functions.blocked_datanets().call() == [7]
    assert version(policy) == 1
    (event,) = events(policy, "DatanetBlocked", tx)
    assert event.args.datanet == 7
    block_net(2**256 - 1)
    assert policy.functions.blocked_datanets().call() == [7, 2**256 - 1]


def test_block_datanet_refusals(policy, block_net, reverts):
    with reverts("policy: datanet ids start at 1"):
        block_net(0)
    block_net(1)
    with reverts("policy: datanet already blocked"):
        block_net(1)
    assert version(policy) == 1


def test_datanet_list_holds_256(policy, block_net, unblock_net, reverts):
    for datanet in range(1, 257):
        block_net(datanet)
    with reverts("policy: datanet list full"):
        block_net(257)
    with reverts("policy: datanet already blocked"):  # checked before fullness
        block_net(1)
    assert version(policy) == 256
    unblock_net(1)
    block_net(257)
    listed = policy.functions.blocked_datanets().call()
    assert (listed[0], listed[-1], len(listed)) == (256, 257, 256)  # swapped, popped, appended
    assert version(policy) == 258


def test_unblock_datanet(policy, block_net, unblock_net):
    block_net(7)
    tx = unblock_net(7)
    assert not policy.functions.is_datanet_blocked(7).call()
    assert policy.functions.blocked_datanets().call() == []
    assert version(policy) == 2
    (event,) = events(policy, "DatanetUnblocked", tx)
    assert event.args.datanet == 7


def test_unblock_datanet_refuses_a_datanet_not_blocked(policy, block_net, unblock_net, reverts):
    for datanet in (7, 0):
        with reverts("policy: datanet not blocked"):
            unblock_net(datanet)
    block_net(7)
    unblock_net(7)
    with reverts("policy: datanet not blocked"):
        unblock_net(7)
    assert version(policy) == 2


@pytest.mark.parametrize(
    ("removed", "left"),
    [(0, [30, 20]), (1, [10, 30]), (2, [10, 20])],
    ids=["first", "middle", "last"],
)
def test_unblock_datanet_swaps_and_pops(policy, block_net, unblock_net, removed, left):
    nets = [10, 20, 30]
    for datanet in nets:
        block_net(datanet)
    unblock_net(nets[removed])
    assert policy.functions.blocked_datanets().call() == left
    assert not policy.functions.is_datanet_blocked(nets[removed]).call()
    remaining = list(left)
    for datanet in list(left):
        assert policy.functions.is_datanet_blocked(datanet).call()
        unblock_net(datanet)
        remaining.remove(datanet)
        assert sorted(policy.functions.blocked_datanets().call()) == sorted(remaining)
    assert version(policy) == 6


# training weight ----------------------------------------------------------------------------


def test_set_training_weight_keeps_the_previous_value_and_when_it_changed(w3, policy, set_weight):
    tx = set_weight(25_000)
    first = w3.eth.get_block(w3.eth.get_transaction_receipt(tx).blockNumber).timestamp
    assert training_weight(policy) == (25_000, 10_000, first)
    assert version(policy) == 1
    (event,) = events(policy, "TrainingWeightSet", tx)
    assert (event.args.weight_bps, event.args.previous_bps) == (25_000, 10_000)

    tx = set_weight(0)  # training paid nothing; one previous value is kept, the oldest dropped
    second = w3.eth.get_block(w3.eth.get_transaction_receipt(tx).blockNumber).timestamp
    assert second >= first
    assert training_weight(policy) == (0, 25_000, second)
    assert version(policy) == 2
    (event,) = events(policy, "TrainingWeightSet", tx)
    assert (event.args.weight_bps, event.args.previous_bps) == (0, 25_000)


def test_set_training_weight_accepts_exactly_10x(policy, set_weight, reverts):
    set_weight(100_000)
    assert training_weight(policy)[:2] == (100_000, 10_000)
    with reverts("policy: training weight above 10x"):
        set_weight(100_001)
    with reverts("policy: training weight above 10x"):
        set_weight(2**256 - 1)
    assert training_weight(policy)[:2] == (100_000, 10_000)
    assert version(policy) == 1


def test_set_training_weight_refuses_the_value_in_force(policy, set_weight, reverts):
    with reverts("policy: training weight unchanged"):
        set_weight(10_000)
    assert training_weight(policy) == (10_000, 10_000, 0)
    set_weight(5_000)
    with reverts("policy: training weight unchanged"):
        set_weight(5_000)
    assert training_weight(policy)[:2] == (5_000, 10_000)
    assert version(policy) == 1


# version ------------------------------------------------------------------------------------


def test_version_counts_each_change_once_across_lists(
    policy, approve, revoke, block, unblock, block_net, unblock_net, set_weight, reverts
):
    steps = [
        lambda: approve("m", DIGEST),
        lambda: block("cid"),
        lambda: set_weight(30_000),
        lambda: block_net(1),
        lambda: unblock("cid"),
        lambda: revoke("m", DIGEST),
        lambda: unblock_net(1),
    ]
    for expected, step in enumerate(steps, start=1):
        step()
        assert version(policy) == expected
    with reverts("policy: content not blocked"):
        unblock("cid")
    assert version(policy) == len(steps)


def test_the_lists_are_independent(policy, approve, block, block_net):
    # a CID equal to a model id, a datanet id equal to a list position: nothing leaks across
    approve("x", DIGEST)
    block("x")
    block_net(1)
    assert policy.functions.is_model_approved("x", DIGEST).call()
    assert policy.functions.is_content_blocked("x").call()
    assert policy.functions.blocked_content().call() == ["x"]
    assert policy.functions.blocked_datanets().call() == [1]
    assert models(policy) == [("x", DIGEST)]

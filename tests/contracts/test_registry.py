"""registry.vy on every backend: each path, positive and negative, with exact revert strings."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from tessera._chain.registry import LinkedDeployment
from tessera._crypto import eip712
from tessera._crypto.merkle import MerkleTree

LICENSE = "CC-BY-4.0"
ZERO = "0x" + "00" * 20


def cid(i: int) -> bytes:
    return keccak(text=f"chunk {i}")  # stands in for a sha256 digest: the contract sees 32 bytes


@pytest.fixture
def datanet(registry, owner) -> int:
    return registry.create_datanet(owner, "wiki", LICENSE, "bafkreimeta")


def signed_batch(registry, datanet: int, signer, n: int):
    domain = eip712.Domain(registry.chain.chain_id, registry.address)
    leaves = [eip712.contribution_leaf(datanet, cid(i), LICENSE, signer.address) for i in range(n)]
    sigs = [
        eip712.sign_digest(signer, eip712.contribution_digest(domain, datanet, cid(i), LICENSE))
        for i in range(n)
    ]
    return MerkleTree(leaves), sigs


def register(registry, sender, datanet, root, leaves=1, contributors=1, uri="bafkreimanifest"):
    return registry.register_batch(sender, datanet, root, leaves, b"\x01" * 32, contributors, uri)


# create_datanet ---------------------------------------------------------------------------


def test_create_datanet_records_owner_license_and_metadata(registry, owner, datanet):
    record = registry.datanet(datanet)
    assert (record.id, record.owner, record.name, record.license, record.metadata_cid) == (
        1,
        owner.address,
        "wiki",
        LICENSE,
        "bafkreimeta",
    )
    assert (record.batch_count, record.contribution_count) == (0, 0)
    assert registry.datanet_count() == 1
    assert registry.create_datanet(owner, "second", "MIT", "bafkreimeta") == 2


@pytest.mark.parametrize(
    ("name", "license", "metadata", "reason"),
    [
        ("", LICENSE, "m", "registry: empty name"),
        ("x", "", "m", "registry: empty license"),
        ("x", LICENSE, "", "registry: empty metadata cid"),
    ],
)
def test_create_datanet_refuses_empty_fields(
    registry, owner, refused, name, license, metadata, reason
):
    with refused(reason):
        registry.create_datanet(owner, name, license, metadata)


def test_create_datanet_refuses_a_taken_name(registry, owner, funded, datanet, refused):
    with refused("registry: name taken"):
        registry.create_datanet(funded(), "wiki", LICENSE, "m")


# set_metadata and transfer_datanet ----------------------------------------------------------


def test_owner_sets_metadata(registry, owner, datanet):
    registry.chain.transact(registry.contract.functions.set_metadata(datanet, "bafkreinew"), owner)
    assert registry.datanet(datanet).metadata_cid == "bafkreinew"


@pytest.mark.parametrize(
    ("who", "target", "value", "reason"),
    [
        ("stranger", 1, "m", "registry: caller is not the datanet owner"),
        ("owner", 7, "m", "registry: unknown datanet"),
        ("owner", 0, "m", "registry: unknown datanet"),
        ("owner", 1, "", "registry: empty metadata cid"),
    ],
)
def test_set_metadata_refusals(
    registry, owner, funded, datanet, refused, who, target, value, reason
):
    sender = owner if who == "owner" else funded()
    with refused(reason):
        registry.chain.transact(registry.contract.functions.set_metadata(target, value), sender)


def test_owner_transfers_the_datanet(registry, owner, funded, datanet):
    heir = funded()
    registry.chain.transact(
        registry.contract.functions.transfer_datanet(datanet, heir.address), owner
    )
    assert registry.datanet(datanet).owner == heir.address


@pytest.mark.parametrize(
    ("who", "target", "to", "reason"),
    [
        ("stranger", 1, "heir", "registry: caller is not the datanet owner"),
        ("owner", 9, "heir", "registry: unknown datanet"),
        ("owner", 1, ZERO, "registry: new owner is the zero address"),
    ],
)
def test_transfer_datanet_refusals(
    registry, owner, funded, datanet, refused, who, target, to, reason
):
    sender = owner if who == "owner" else funded()
    new_owner = Account.create().address if to == "heir" else to
    with refused(reason):
        registry.chain.transact(
            registry.contract.functions.transfer_datanet(target, new_owner), sender
        )


# register_batch -----------------------------------------------------------------------------


def test_register_batch_records_everything(registry, owner, funded, datanet):
    submitter = funded()
    batch_id, gas = registry.register_batch(
        submitter, datanet, b"\x07" * 32, 5, b"\x02" * 32, 2, "bafkreimanifest"
    )
    batch = registry.batch(batch_id)
    assert (batch.id, batch.datanet, batch.root, batch.leaf_count, batch.contributors_hash) == (
        1,
        datanet,
        b"\x07" * 32,
        5,
        b"\x02" * 32,
    )
    assert (batch.contributor_count, batch.content_uri, batch.submitter) == (
        2,
        "bafkreimanifest",
        submitter.address,
    )
    assert batch.block_number == registry.chain.block_number()
    assert registry.batch_id_by_root(datanet, b"\x07" * 32) == 1
    assert registry.datanet_batch(datanet, 0) == 1
    record = registry.datanet(datanet)
    assert (record.batch_count, record.contribution_count) == (1, 5)
    assert gas > 0


def test_register_batch_emits_batch_registered(registry, owner, datanet):
    fn = registry.contract.functions.register_batch(datanet, b"\x07" * 32, 3, b"\x02" * 32, 1, "u")
    receipt = registry.chain.transact(fn, owner)
    (event,) = registry.contract.events.BatchRegistered().process_receipt(receipt)
    assert (event.args.datanet, event.args.batch, event.args.leaf_count) == (datanet, 1, 3)
    assert (event.args.submitter, event.args.content_uri) == (owner.address, "u")


@pytest.mark.parametrize(
    ("datanet_id", "root", "leaves", "contributors", "uri", "reason"),
    [
        (0, b"\x01" * 32, 1, 1, "u", "registry: unknown datanet"),
        (2, b"\x01" * 32, 1, 1, "u", "registry: unknown datanet"),
        (1, b"\x00" * 32, 1, 1, "u", "registry: empty root"),
        (1, b"\x01" * 32, 0, 1, "u", "registry: empty batch"),
        (1, b"\x01" * 32, 2, 0, "u", "registry: bad contributor count"),
        (1, b"\x01" * 32, 2, 3, "u", "registry: bad contributor count"),
        (1, b"\x01" * 32, 1, 1, "", "registry: empty content uri"),
    ],
)
def test_register_batch_refusals(
    registry, owner, datanet, refused, datanet_id, root, leaves, contributors, uri, reason
):
    with refused(reason):
        register(registry, owner, datanet_id, root, leaves, contributors, uri)
    assert registry.batch_count() == 0


def test_the_same_root_cannot_be_registered_twice_in_a_datanet(registry, owner, datanet, refused):
    register(registry, owner, datanet, b"\x05" * 32)
    with refused("registry: batch already registered"):
        register(registry, owner, datanet, b"\x05" * 32)
    other = registry.create_datanet(owner, "other", LICENSE, "m")
    assert register(registry, owner, other, b"\x05" * 32)[0] == 2


# signatures, leaves and proofs -------------------------------------------------------------


def test_digest_and_leaf_match_the_python_side(registry, owner, datanet):
    domain = eip712.Domain(registry.chain.chain_id, registry.address)
    assert registry.contribution_digest(datanet, cid(1)) == eip712.contribution_digest(
        domain, datanet, cid(1), LICENSE
    )
    assert registry.contribution_leaf(datanet, cid(1), owner.address) == eip712.contribution_leaf(
        datanet, cid(1), LICENSE, owner.address
    )


def test_digest_and_leaf_refuse_an_unknown_datanet(registry, owner, refused):
    with refused("registry: unknown datanet"):
        registry.contribution_digest(3, cid(1))
    with refused("registry: unknown datanet"):
        registry.contribution_leaf(3, cid(1), owner.address)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_every_leaf_of_a_batch_verifies_on_chain(registry, owner, datanet, n):
    tree, sigs = signed_batch(registry, datanet, owner, n)
    batch_id, _ = register(registry, owner, datanet, tree.root, n)
    for i in range(n):
        assert registry.verify_contribution(batch_id, cid(i), owner.address, sigs[i], tree.proof(i))


def test_verification_fails_for_anything_that_does_not_match(registry, owner, funded, datanet):
    tree, sigs = signed_batch(registry, datanet, owner, 3)
    batch_id, _ = register(registry, owner, datanet, tree.root, 3)
    stranger = funded()
    _, stranger_sigs = signed_batch(registry, datanet, stranger, 3)
    verify = registry.verify_contribution
    assert not verify(batch_id, cid(0), stranger.address, sigs[0], tree.proof(0))
    assert not verify(batch_id, cid(0), stranger.address, stranger_sigs[0], tree.proof(0))
    assert not verify(batch_id, cid(0), owner.address, sigs[1], tree.proof(0))
    assert not verify(batch_id, cid(0), owner.address, sigs[0], tree.proof(1))
    assert not verify(batch_id, cid(9), owner.address, sigs[0], tree.proof(0))


def test_verification_refuses_unknown_batches_and_malformed_signatures(
    registry, owner, datanet, refused
):
    tree, sigs = signed_batch(registry, datanet, owner, 2)
    batch_id, _ = register(registry, owner, datanet, tree.root, 2)
    with refused("registry: unknown batch"):
        registry.verify_contribution(2, cid(0), owner.address, sigs[0], tree.proof(0))
    high_s = sigs[0][:32] + b"\xff" * 32 + sigs[0][64:]
    with refused("ecdsa: invalid signature `s` value"):
        registry.verify_contribution(batch_id, cid(0), owner.address, high_s, tree.proof(0))
    with refused("ecdsa: invalid signature"):
        registry.verify_contribution(
            batch_id, cid(0), owner.address, b"\x00" * 64 + b"\x1b", tree.proof(0)
        )
    assert not registry.verify_contribution(
        batch_id, cid(0), owner.address, b"\x01" * 10, tree.proof(0)
    )


# link_deployment: what a joining home reads --------------------------------------------------


def _linked(seed: int, block: int = 7) -> LinkedDeployment:
    addresses = [Account.from_key(keccak(text=f"contract {seed} {i}")).address for i in range(8)]
    return LinkedDeployment(*addresses, block)


def test_nothing_is_linked_until_the_deployer_links(registry):
    assert registry.linked_deployment() is None


def test_the_deployer_links_the_deployment_once(registry, owner, refused):
    first = _linked(1)
    registry.link_deployment(owner, first)
    assert registry.linked_deployment() == first
    with refused("registry: deployment already linked"):
        registry.link_deployment(owner, _linked(2))
    assert registry.linked_deployment() == first


def test_only_the_deployer_links(registry, funded, refused):
    with refused("registry: caller is not the deployer"):
        registry.link_deployment(funded(), _linked(1))
    assert registry.linked_deployment() is None


@pytest.mark.parametrize("field", range(8))
def test_a_zero_address_is_never_linked(registry, owner, refused, field):
    values = list(_linked(1).as_abi())
    values[field] = ZERO
    with refused("registry: zero address in deployment"):
        registry.link_deployment(owner, LinkedDeployment(*values))
    assert registry.linked_deployment() is None

"""Typed client of registry.vy: datanets and contribution batches."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from tessera._chain.client import Chain
from tessera._errors import ChainError


@dataclass(frozen=True)
class DatanetRecord:
    id: int
    owner: str
    name: str
    license: str
    metadata_cid: str
    created_block: int
    batch_count: int
    contribution_count: int


@dataclass(frozen=True)
class BatchRecord:
    id: int
    datanet: int
    root: bytes
    leaf_count: int
    contributors_hash: bytes
    contributor_count: int
    content_uri: str
    submitter: str
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class LinkedDeployment:
    """What `registry.link_deployment` records: enough for a new home to join from the
    registry's address alone."""

    token: str
    settlement: str
    staking: str
    timelock: str
    governor: str
    policy: str
    disputes: str
    models: str
    block: int

    def as_abi(self) -> tuple[str, str, str, str, str, str, str, str, int]:
        return (
            self.token,
            self.settlement,
            self.staking,
            self.timelock,
            self.governor,
            self.policy,
            self.disputes,
            self.models,
            self.block,
        )


class RegistryClient:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = address
        self.contract = chain.contract("registry", address)

    # writes ---------------------------------------------------------------------------------

    def create_datanet(self, sender: LocalAccount, name: str, license: str, metadata: str) -> int:
        fn = self.contract.functions.create_datanet(name, license, metadata)
        self.chain.transact(fn, sender)
        return self.datanet_id(name)

    def register_batch(
        self,
        sender: LocalAccount,
        datanet: int,
        root: bytes,
        leaf_count: int,
        contributors_hash: bytes,
        contributor_count: int,
        content_uri: str,
    ) -> tuple[int, int]:
        """Register one batch; returns (batch id, gas used)."""
        fn = self.contract.functions.register_batch(
            datanet, root, leaf_count, contributors_hash, contributor_count, content_uri
        )
        receipt = self.chain.transact(fn, sender)
        batch_id = self.batch_id_by_root(datanet, root)
        if batch_id == 0:
            raise ChainError(f"batch {root.hex()} was mined but the registry does not know it")
        return batch_id, int(receipt["gasUsed"])

    def link_deployment(self, sender: LocalAccount, addresses: LinkedDeployment) -> None:
        """Name, once, the contracts deployed beside this registry (only its deployer may)."""
        self.chain.transact(self.contract.functions.link_deployment(addresses.as_abi()), sender)

    # reads ----------------------------------------------------------------------------------

    def linked_deployment(self) -> LinkedDeployment | None:
        """The contracts deployed beside this registry, or None while none are linked."""
        fields = self.chain.call(self.contract.functions.deployment())
        linked = LinkedDeployment(*fields)
        return None if int(linked.token, 16) == 0 else linked

    def datanet_count(self) -> int:
        return int(self.chain.call(self.contract.functions.datanet_count()))

    def datanet_id(self, name: str) -> int:
        return int(self.chain.call(self.contract.functions.datanet_id_by_name(name)))

    def datanet(self, datanet_id: int) -> DatanetRecord:
        fields = self.chain.call(self.contract.functions.datanets(datanet_id))
        return DatanetRecord(datanet_id, *fields)

    def batch_count(self) -> int:
        return int(self.chain.call(self.contract.functions.batch_count()))

    def batch(self, batch_id: int) -> BatchRecord:
        fields = self.chain.call(self.contract.functions.batches(batch_id))
        return BatchRecord(batch_id, *fields)

    def datanet_batch(self, datanet: int, index: int) -> int:
        """The id of the datanet's `index`-th batch (0-based, registration order)."""
        return int(self.chain.call(self.contract.functions.datanet_batches(datanet, index)))

    def batch_id_by_root(self, datanet: int, root: bytes) -> int:
        return int(self.chain.call(self.contract.functions.batch_id_by_root(datanet, root)))

    def contribution_digest(self, datanet: int, cid_digest: bytes) -> bytes:
        return bytes(
            self.chain.call(self.contract.functions.contribution_digest(datanet, cid_digest))
        )

    def contribution_leaf(self, datanet: int, cid_digest: bytes, contributor: str) -> bytes:
        fn = self.contract.functions.contribution_leaf(datanet, cid_digest, contributor)
        return bytes(self.chain.call(fn))

    def verify_contribution(
        self, batch: int, cid_digest: bytes, contributor: str, signature: bytes, proof: list[bytes]
    ) -> bool:
        fn = self.contract.functions.verify_contribution(
            batch, cid_digest, contributor, signature, proof
        )
        return bool(self.chain.call(fn))

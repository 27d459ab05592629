"""A batch manifest: the leaves (CID, contributor, signature) behind one on-chain Merkle root.

It is stored as canonical JSON in the blob store; the registry records its CID, so anyone
holding the manifest can rebuild the tree and prove any one contribution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from eth_utils import keccak, to_bytes, to_checksum_address

from tessera._crypto.eip712 import Domain, check_signature, contribution_digest, contribution_leaf
from tessera._crypto.merkle import MerkleTree
from tessera._errors import SignatureError, StoreError
from tessera._store.cid import digest_from_cid

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Leaf:
    cid: str
    contributor: str
    signature: bytes


@dataclass(frozen=True)
class BatchManifest:
    chain_id: int
    registry: str
    datanet: int
    license: str
    leaves: tuple[Leaf, ...]

    def to_bytes(self) -> bytes:
        body = {
            "version": MANIFEST_VERSION,
            "chain_id": self.chain_id,
            "registry": to_checksum_address(self.registry),
            "datanet": self.datanet,
            "license": self.license,
            "leaves": [
                [leaf.cid, leaf.contributor, "0x" + leaf.signature.hex()] for leaf in self.leaves
            ],
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> BatchManifest:
        try:
            body = json.loads(data)
            if body["version"] != MANIFEST_VERSION:
                raise ValueError(f"version {body['version']}")
            leaves = tuple(
                Leaf(cid, to_checksum_address(who), to_bytes(hexstr=sig))
                for cid, who, sig in body["leaves"]
            )
            return cls(
                int(body["chain_id"]),
                body["registry"],
                int(body["datanet"]),
                str(body["license"]),
                leaves,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"not a Tessera batch manifest ({exc})") from None

    @cached_property
    def tree(self) -> MerkleTree:
        return MerkleTree(
            [
                contribution_leaf(
                    self.datanet, digest_from_cid(leaf.cid), self.license, leaf.contributor
                )
                for leaf in self.leaves
            ]
        )

    def signatures_valid(self, domain: Domain) -> list[bool]:
        """Per leaf: does its signature recover to its contributor under `domain`?"""
        results = []
        for leaf in self.leaves:
            digest = contribution_digest(
                domain, self.datanet, digest_from_cid(leaf.cid), self.license
            )
            try:
                check_signature(digest, leaf.signature, leaf.contributor)
                results.append(True)
            except SignatureError:
                results.append(False)
        return results

    @property
    def contributors(self) -> list[str]:
        return sorted({leaf.contributor for leaf in self.leaves}, key=str.lower)

    @property
    def contributors_hash(self) -> bytes:
        """keccak256 of the sorted distinct contributor addresses, 20 bytes each."""
        return keccak(b"".join(to_bytes(hexstr=a) for a in self.contributors))

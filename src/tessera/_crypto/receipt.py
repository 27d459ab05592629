"""The node's signed receipt for one answer (EIP-712), and its independent verification.

A receipt commits to the request, the answer, the model, the datanet snapshots retrieved
from, the attribution and the price. It carries the preimages of every hash, so anyone can
recompute them and check the node's signature without trusting the node.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_bytes, to_checksum_address

from tessera._crypto.eip712 import recover_typed, sign_typed
from tessera._errors import InputError, SignatureError
from tessera._store.cid import digest_from_cid

RECEIPT_DOMAIN_NAME = "Tessera Node"
RECEIPT_DOMAIN_VERSION = "1"
WEIGHT_SCALE = 1_000_000  # attribution weights are integers in parts per million, summing exactly
RECEIPT_TYPES = {
    "Receipt": [
        {"name": "requestHash", "type": "bytes32"},
        {"name": "responseHash", "type": "bytes32"},
        {"name": "model", "type": "string"},
        {"name": "datanetsHash", "type": "bytes32"},
        {"name": "attributionHash", "type": "bytes32"},
        {"name": "price", "type": "uint256"},
        {"name": "client", "type": "address"},
        {"name": "timestamp", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class AttributedSource:
    cid: str
    contributor: str
    datanet: int
    weight_ppm: int


@dataclass(frozen=True)
class DatanetSnapshot:
    datanet: int
    root: str  # 0x-hex keccak over the roots of the datanet's first `batches` batches
    batches: int


@dataclass(frozen=True)
class Receipt:
    id: str
    node: str
    chain_id: int
    verifying_contract: str
    request: dict[str, Any]  # the request body as received
    response_text: str  # the answer exactly as delivered
    model: str
    datanets: tuple[DatanetSnapshot, ...]
    attribution: tuple[AttributedSource, ...]
    price: int
    client: str
    timestamp: int
    signature: str = field(default="")

    # hashes --------------------------------------------------------------------------------

    @property
    def request_hash(self) -> bytes:
        return keccak(canonical_json(self.request))

    @property
    def response_hash(self) -> bytes:
        return keccak(text=self.response_text)

    @property
    def datanets_hash(self) -> bytes:
        return keccak(
            encode(
                ["uint256[]", "bytes32[]", "uint256[]"],
                [
                    [d.datanet for d in self.datanets],
                    [to_bytes(hexstr=d.root) for d in self.datanets],
                    [d.batches for d in self.datanets],
                ],
            )
        )

    @property
    def attribution_hash(self) -> bytes:
        return attribution_hash(self.attribution)

    def typed_data(self) -> dict[str, Any]:
        return {
            "types": RECEIPT_TYPES,
            "primaryType": "Receipt",
            "domain": {
                "name": RECEIPT_DOMAIN_NAME,
                "version": RECEIPT_DOMAIN_VERSION,
                "chainId": self.chain_id,
                "verifyingContract": to_checksum_address(self.verifying_contract),
            },
            "message": {
                "requestHash": self.request_hash,
                "responseHash": self.response_hash,
                "model": self.model,
                "datanetsHash": self.datanets_hash,
                "attributionHash": self.attribution_hash,
                "price": self.price,
                "client": to_checksum_address(self.client),
                "timestamp": self.timestamp,
            },
        }

    # signing -------------------------------------------------------------------------------

    def signed_by(self, node: LocalAccount) -> Receipt:
        if node.address != to_checksum_address(self.node):
            raise SignatureError(f"receipt names node {self.node} but {node.address} signs it")
        return Receipt(**{**self.__dict__, "signature": sign_typed(node, self.typed_data())})

    def verify(self) -> None:
        """Raise SignatureError unless the node named in the receipt signed exactly this."""
        total = sum(a.weight_ppm for a in self.attribution)
        if self.attribution and total != WEIGHT_SCALE:
            raise SignatureError(f"attribution weights sum to {total} ppm, not {WEIGHT_SCALE}")
        if any(a.weight_ppm <= 0 for a in self.attribution):
            raise SignatureError("a receipt lists only sources with a positive weight")
        if not self.signature:
            raise SignatureError("the receipt is not signed")
        signer = recover_typed(self.typed_data(), self.signature, "receipt")
        if signer != to_checksum_address(self.node):
            raise SignatureError(
                f"the receipt was not signed by node {self.node} (the signature recovers to "
                f"{signer}): its content was changed or it was forged"
            )

    # files ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["hashes"] = {
            k: "0x" + getattr(self, k).hex()
            for k in ("request_hash", "response_hash", "datanets_hash", "attribution_hash")
        }
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Receipt:
        if not isinstance(body, dict):
            raise InputError(
                "not a Tessera receipt (expected a JSON object): pass a file saved by the node"
            )
        try:
            fields = {k: v for k, v in body.items() if k != "hashes"}
            fields["datanets"] = tuple(DatanetSnapshot(**d) for d in fields["datanets"])
            fields["attribution"] = tuple(AttributedSource(**a) for a in fields["attribution"])
            return cls(**fields)
        except (TypeError, KeyError, AttributeError) as exc:
            raise InputError(
                f"not a Tessera receipt ({exc}): pass a file saved by the node"
            ) from None


def attribution_hash(sources: tuple[AttributedSource, ...] | list[AttributedSource]) -> bytes:
    return keccak(
        encode(
            ["bytes32[]", "address[]", "uint256[]", "uint256[]"],
            [
                [digest_from_cid(s.cid) for s in sources],
                [to_checksum_address(s.contributor) for s in sources],
                [s.datanet for s in sources],
                [s.weight_ppm for s in sources],
            ],
        )
    )


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

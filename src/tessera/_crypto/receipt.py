"""The node's signed receipt for one answer (EIP-712), and its independent verification.

A receipt commits to the request, the answer, the model and its weights, the datanet snapshots
retrieved from, the prompt's documents and the answer's tokens (the transcript a validator
re-executes), the attribution, the client's authorization of the request, and the price. It
carries the preimages of every hash, so anyone can recompute them and check the node's
signature without trusting the node; `disputes.vy` recomputes the same digest on chain.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_bytes, to_checksum_address

from tessera._crypto.authorization import NODE_DOMAIN_NAME, NODE_DOMAIN_VERSION, ClientAuthorization
from tessera._crypto.eip712 import recover_typed, sign_typed, typed_digest
from tessera._crypto.pools import (
    WEIGHT_SCALE,
    AttributedSource,
    Payable,
    check_pools,
    merge_pools,
)
from tessera._errors import InputError, SignatureError
from tessera._store.cid import digest_from_cid

RECEIPT_DOMAIN_NAME = NODE_DOMAIN_NAME
RECEIPT_DOMAIN_VERSION = NODE_DOMAIN_VERSION
ZERO_DIGEST = "0x" + "00" * 32
RECEIPT_TYPES = {
    "Receipt": [
        {"name": "requestHash", "type": "bytes32"},
        {"name": "responseHash", "type": "bytes32"},
        {"name": "model", "type": "string"},
        {"name": "modelDigest", "type": "bytes32"},
        {"name": "datanetsHash", "type": "bytes32"},
        {"name": "attributionHash", "type": "bytes32"},
        {"name": "transcriptHash", "type": "bytes32"},
        {"name": "authorizationHash", "type": "bytes32"},
        {"name": "price", "type": "uint256"},
        {"name": "client", "type": "address"},
        {"name": "timestamp", "type": "uint256"},
    ]
}


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
    model_digest: str = ZERO_DIGEST  # the weights digest governance approved (0x-hex)
    context: tuple[str, ...] = ()  # CIDs of the prompt's documents, in prompt order
    answer_tokens: tuple[int, ...] = ()  # the answer as generated, token by token
    method: str = ""  # the attribution method that weighed the sources
    authorization: ClientAuthorization | None = None  # the client's signature of the request
    # an adapter's answer: what it owed the contributions the adapter was trained on (ppm
    # summing to WEIGHT_SCALE, or empty), the method, the share of the contributors' pool
    # that goes to them, and the governed weight that share was measured with (pools.py)
    training: tuple[AttributedSource, ...] = ()
    training_method: str = ""
    training_share_ppm: int = 0
    training_weight_bps: int = 0
    withheld: tuple[str, ...] = ()  # training CIDs governance blocked: paid to withheld_to
    withheld_to: str = ""

    @property
    def payable(self) -> list[Payable]:
        """Both attributions merged into the one list settlement splits (pools.py)."""
        return merge_pools(
            self.attribution,
            self.training,
            self.training_share_ppm,
            frozenset(self.withheld),
            self.withheld_to,
        )

    @property
    def payable_sources(self) -> tuple[AttributedSource, ...]:
        return tuple(p.source for p in self.payable)

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
        """What the chain splits: the payable list, which is the context attribution itself
        when there is no training attribution."""
        return attribution_hash(self.payable_sources)

    @property
    def transcript_hash(self) -> bytes:
        return keccak(
            encode(
                ["bytes32[]", "uint256[]", "string", "bytes32"],
                [
                    [digest_from_cid(c) for c in self.context],
                    list(self.answer_tokens),
                    self.method,
                    self.training_hash,
                ],
            )
        )

    @property
    def training_hash(self) -> bytes:
        """Commits to the training side (zero when there is none): both attributions are
        signed, not only their merge, so a validator can redo each and the merge."""
        if not (self.training or self.training_method or self.training_share_ppm):
            return bytes(32)
        return keccak(
            encode(
                ["bytes32", "string", "uint256", "uint256", "bytes32[]", "address"],
                [
                    attribution_hash(self.training),
                    self.training_method,
                    self.training_share_ppm,
                    self.training_weight_bps,
                    [digest_from_cid(c) for c in self.withheld],
                    to_checksum_address(self.withheld_to or "0x" + "00" * 20),
                ],
            )
        )

    @property
    def authorization_hash(self) -> bytes:
        return self.authorization.hash if self.authorization is not None else bytes(32)

    def struct_fields(self) -> tuple[Any, ...]:
        """The signed message's values in ABI order (the contract's evidence)."""
        m = self.typed_data()["message"]
        return tuple(m[f["name"]] for f in RECEIPT_TYPES["Receipt"])

    def digest(self) -> bytes:
        """The 32 bytes the node signs (EIP-712)."""
        return typed_digest(self.typed_data())

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
                "modelDigest": to_bytes(hexstr=self.model_digest),
                "datanetsHash": self.datanets_hash,
                "attributionHash": self.attribution_hash,
                "transcriptHash": self.transcript_hash,
                "authorizationHash": self.authorization_hash,
                "price": self.price,
                "client": to_checksum_address(self.client),
                "timestamp": self.timestamp,
            },
        }

    # signing -------------------------------------------------------------------------------

    def signed_by(self, node: LocalAccount) -> Receipt:
        if node.address != to_checksum_address(self.node):
            raise SignatureError(f"receipt names node {self.node} but {node.address} signs it")
        problems = check_pools(
            self.training, self.training_share_ppm, self.withheld, self.withheld_to
        )
        if problems:  # what verify() would refuse is never signed
            raise SignatureError("; ".join(problems))
        return Receipt(**{**self.__dict__, "signature": sign_typed(node, self.typed_data())})

    def verify(self) -> None:
        """Raise SignatureError unless the node named in the receipt signed exactly this."""
        total = sum(a.weight_ppm for a in self.attribution)
        if self.attribution and total != WEIGHT_SCALE:
            raise SignatureError(f"attribution weights sum to {total} ppm, not {WEIGHT_SCALE}")
        if any(a.weight_ppm <= 0 for a in self.attribution):
            raise SignatureError("a receipt lists only sources with a positive weight")
        problems = check_pools(
            self.training, self.training_share_ppm, self.withheld, self.withheld_to
        )
        if problems:
            raise SignatureError("; ".join(problems))
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
            for k in (
                "request_hash",
                "response_hash",
                "datanets_hash",
                "attribution_hash",
                "transcript_hash",
                "authorization_hash",
                "training_hash",
            )
        }
        return body

    def body_bytes(self) -> bytes:
        """The whole receipt as canonical JSON: what a node produces on chain when challenged."""
        return canonical_json(self.to_json())

    @classmethod
    def from_body(cls, data: bytes) -> Receipt:
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"not a Tessera receipt (not JSON: {exc})") from None
        return cls.from_json(body)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Receipt:
        if not isinstance(body, dict):
            raise InputError(
                "not a Tessera receipt (expected a JSON object): pass a file saved by the node"
            )
        try:
            fields = {k: v for k, v in body.items() if k != "hashes"}
            fields["datanets"] = tuple(DatanetSnapshot(**d) for d in fields["datanets"])
            fields["attribution"] = tuple(_source(a) for a in fields["attribution"])
            fields["training"] = tuple(_source(a) for a in fields.get("training", ()))
            fields["withheld"] = tuple(str(c) for c in fields.get("withheld", ()))
            fields["context"] = tuple(fields.get("context", ()))
            fields["answer_tokens"] = tuple(int(t) for t in fields.get("answer_tokens", ()))
            if fields.get("authorization") is not None:
                fields["authorization"] = ClientAuthorization(**fields["authorization"])
            return cls(**fields)
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            raise InputError(
                f"not a Tessera receipt ({exc}): pass a file saved by the node"
            ) from None


def _source(body: dict[str, Any]) -> AttributedSource:
    """One attributed source from hostile JSON: exact types, or ValueError."""
    source = AttributedSource(**body)
    ints = (source.datanet, source.weight_ppm)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        raise ValueError("a source's datanet and weight_ppm are integers")
    if not (isinstance(source.cid, str) and isinstance(source.contributor, str)):
        raise ValueError("a source's cid and contributor are strings")
    return source


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

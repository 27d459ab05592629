"""A node's metadata document: what it serves and charges, addressed on chain by its CID.

The staking contract keeps only the CID; the document itself is canonical JSON (sorted keys,
no spaces) that the node serves at `/ipfs/{cid}`. Whoever fetches it checks that it hashes to
the CID and then parses it here, strictly: the bytes come from a peer, so they are bounded
before parsing and every key, type and range is checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eth_utils import is_hex_address, to_checksum_address

from tessera._errors import InputError
from tessera._store.cid import cid_for

VERSION = 1
MAX_BYTES = 64 * 1024
MAX_MODELS = 32
MAX_PRICE = 2**96  # exclusive: a price per token far above any token supply
MAX_ID_CHARS = 128
MAX_ENDPOINT_CHARS = 256  # what the staking contract keeps
MAX_TOKENS = 1 << 20
_KEYS = {
    "version",
    "chain_id",
    "staking",
    "node",
    "endpoint",
    "models",
    "prices",
    "default_max_tokens",
}
_PRICE_KEYS = {"input_token", "output_token"}
_MODEL_KEYS = {"id", "weights_digest"}
_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class ModelVersion:
    id: str
    weights_digest: str  # 0x + 64 lowercase hex digits: sha256 of the model folder


@dataclass(frozen=True)
class NodeMetadata:
    chain_id: int
    staking: str  # the staking contract the node registered with
    node: str  # the node's address: the key that signs its receipts
    endpoint: str
    models: tuple[ModelVersion, ...]
    input_price: int  # per input token, in the token's smallest unit
    output_price: int  # per output token
    default_max_tokens: int  # the answer length the node assumes when a request names none
    version: int = VERSION

    def __post_init__(self) -> None:  # one spelling of each address, so one CID
        for name in ("staking", "node"):
            object.__setattr__(self, name, _address(getattr(self, name), name))

    def to_bytes(self) -> bytes:
        """The canonical document: the same metadata always gives the same bytes and CID."""
        check(self)
        body = {
            "version": self.version,
            "chain_id": self.chain_id,
            "staking": self.staking,
            "node": self.node,
            "endpoint": self.endpoint,
            "models": [{"id": m.id, "weights_digest": m.weights_digest} for m in self.models],
            "prices": {"input_token": self.input_price, "output_token": self.output_price},
            "default_max_tokens": self.default_max_tokens,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def cid(self) -> str:
        return cid_for(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> NodeMetadata:
        """Parse a document a peer sent; any fault is an InputError naming it."""
        if len(data) > MAX_BYTES:
            raise InputError(
                f"the node metadata is {len(data)} bytes, over the {MAX_BYTES} allowed: "
                "the node must publish a smaller document"
            )
        body = _keys(_parse(data), _KEYS, "the node metadata")
        if not isinstance(body["models"], list) or len(body["models"]) > MAX_MODELS:
            raise InputError(f"the node metadata's models must be a list of at most {MAX_MODELS}")
        prices = _keys(body["prices"], _PRICE_KEYS, "the node metadata's prices")
        models = tuple(_model(m) for m in body["models"])
        metadata = cls(
            chain_id=_int(body["chain_id"], "chain_id", 1 << 64),
            staking=_address(body["staking"], "staking"),
            node=_address(body["node"], "node"),
            endpoint=body["endpoint"],
            models=models,
            input_price=_int(prices["input_token"], "input_token price", MAX_PRICE),
            output_price=_int(prices["output_token"], "output_token price", MAX_PRICE),
            default_max_tokens=_int(body["default_max_tokens"], "default_max_tokens", MAX_TOKENS),
            version=_int(body["version"], "version", 1 << 16),
        )
        check(metadata)
        return metadata


def check(metadata: NodeMetadata) -> None:
    """The rules a document obeys, whether built here or parsed from a peer."""
    if metadata.version != VERSION:
        raise InputError(
            f"node metadata version {metadata.version} is not understood (this client reads "
            f"version {VERSION}): upgrade Tessera"
        )
    check_endpoint(metadata.endpoint)
    if len(metadata.models) > MAX_MODELS:
        raise InputError(f"a node can list at most {MAX_MODELS} models in its metadata")
    for model in metadata.models:
        check_model(model.id, model.weights_digest)
    for name, value, bound in (
        ("input_token price", metadata.input_price, MAX_PRICE),
        ("output_token price", metadata.output_price, MAX_PRICE),
        ("default_max_tokens", metadata.default_max_tokens, MAX_TOKENS),
    ):
        _int(value, name, bound)
    if metadata.default_max_tokens == 0:
        raise InputError("the node metadata's default_max_tokens must be at least 1")


def check_endpoint(endpoint: object) -> str:
    """An http(s) URL with a host, no credentials, query or fragment; returned as given."""
    hint = "give the node's base URL, such as http://203.0.113.7:8000"
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT_CHARS:
        raise InputError(
            f"the endpoint must be a URL of at most {MAX_ENDPOINT_CHARS} chars: {hint}"
        )
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise InputError(f"the endpoint {endpoint[:100]!r} is not a valid URL: {hint}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in endpoint)
    ):
        raise InputError(f"the endpoint {endpoint[:100]!r} is not a plain http(s) URL: {hint}")
    return endpoint


def _parse(data: bytes) -> object:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise InputError("the node metadata repeats a key: each key may appear once")
        return dict(pairs)

    def no_constants(name: str) -> None:
        raise InputError(f"the node metadata holds {name}, which is not JSON: it is refused")

    try:
        body = json.loads(
            data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError("the node metadata is not UTF-8 JSON: it is refused") from None
    return body


def _keys(body: object, expected: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError(f"{what} must be a JSON object")
    if set(body) != expected:
        missing = sorted(expected - set(body))
        extra = [k[:40] for k in sorted(set(body) - expected)][:5]
        raise InputError(
            f"{what} must have exactly the keys {sorted(expected)}: "
            f"missing {missing}, unexpected {extra}"
        )
    return body


def _int(value: object, name: str, bound: int) -> int:
    if type(value) is not int or not 0 <= value < bound:
        raise InputError(f"the node metadata's {name} must be an integer from 0 below {bound}")
    return value


def _address(value: object, name: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise InputError(f"the node metadata's {name} must be a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


def _model(entry: object) -> ModelVersion:
    entry = _keys(entry, _MODEL_KEYS, "each model in the node metadata")
    return check_model(entry["id"], entry["weights_digest"])


def check_model(model_id: object, digest: object) -> ModelVersion:
    """A model id (printable, bounded) and its weights digest (0x + 64 lowercase hex)."""
    if (
        not isinstance(model_id, str)
        or not 0 < len(model_id) <= MAX_ID_CHARS
        or not model_id.isprintable()
    ):
        raise InputError(
            f"a model id in the node metadata must be 1 to {MAX_ID_CHARS} printable characters"
        )
    if (
        not isinstance(digest, str)
        or len(digest) != 66
        or not digest.startswith("0x")
        or not set(digest[2:]) <= _HEX
    ):
        raise InputError(
            f"the weights digest of model {model_id!r} must be 0x and 64 lowercase hex digits"
        )
    return ModelVersion(model_id, digest)

"""A model version's manifest: which files, by CID and size, make the folder governance approved.

It travels as one raw block of canonical JSON, so its CID names exactly one document. What a
peer sends is read hostile-safely: bounded before parsing, exact keys, plain file names, bounded
sizes, and it must be the canonical encoding of what it says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from tessera._errors import InputError, StoreError
from tessera._store.cid import DAG_PB, RAW, cid_for, decode_cid

VERSION = 1
MAX_MANIFEST_BYTES = 1 << 16  # 64 files with long names fit in a tenth of this
MAX_FILES = 64
MAX_FILE_BYTES = 1 << 33  # 8 GiB: publishing holds one file's blocks in memory once
MAX_MODEL_BYTES = 1 << 35
MAX_MODEL_ID = 128  # as the policy contract's model ids
# a plain file name: no path separators, no leading dot (hidden, `.`, `..`), nothing odd
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}")
_DIGEST = re.compile(r"0x[0-9a-f]{64}")
_KEYS = {"version", "model_id", "weights_digest", "files"}
_FILE_KEYS = {"name", "cid", "size"}


class ModelFile(NamedTuple):
    name: str
    cid: str  # the file's bytes: a raw block, or a UnixFS file DAG as `ipfs add` builds it
    size: int  # bytes


@dataclass(frozen=True)
class ModelManifest:
    """A published model version: its id, `weights_digest` and files in name order."""

    version: int
    model_id: str
    weights_digest: str  # 0x-hex sha256, as `weights_digest(folder)` gives
    files: tuple[ModelFile, ...]

    def to_bytes(self) -> bytes:
        """The canonical JSON: sorted keys, no spaces, ASCII; one encoding per manifest."""
        body = {
            "version": self.version,
            "model_id": self.model_id,
            "weights_digest": self.weights_digest,
            "files": [{"name": f.name, "cid": f.cid, "size": f.size} for f in self.files],
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def cid(self) -> str:
        """The CID of the manifest's block: what `fetch_model` is given."""
        return cid_for(self.to_bytes())

    @property
    def size(self) -> int:
        """Every file's bytes together."""
        return sum(f.size for f in self.files)


def plain_name_problem(name: str) -> str | None:
    """Why `name` cannot be a model file's name, or None when it can."""
    if not _PLAIN_NAME.fullmatch(name) or ".." in name:
        return (
            f"{name[:80]!r} is not a plain file name (letters, digits, . _ + -, not starting "
            "with a dot, no path)"
        )
    return None


def parse_manifest(cid: str, data: bytes) -> ModelManifest:
    """The manifest in block `cid`; StoreError naming the CID and the fault if it is not one."""
    try:
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError(f"it has {len(data)} bytes, over the {MAX_MANIFEST_BYTES} limit")
        manifest = _manifest(json.loads(data))
        if manifest.to_bytes() != data:
            raise ValueError("it is not in canonical form (sorted keys, no spaces, files by name)")
    except (ValueError, RecursionError, TypeError) as exc:
        raise StoreError(
            f"{cid} is not a model manifest ({exc}): check the CID with the model's publisher"
        ) from None
    return manifest


def _manifest(body: Any) -> ModelManifest:
    if not isinstance(body, dict) or set(body) != _KEYS:
        raise ValueError(f"it must be an object with exactly the keys {sorted(_KEYS)}")
    if body["version"] != VERSION or isinstance(body["version"], bool):
        raise ValueError(f"version {body['version']!r} is not {VERSION}")
    model_id, digest, files = body["model_id"], body["weights_digest"], body["files"]
    if not isinstance(model_id, str) or not 0 < len(model_id) <= MAX_MODEL_ID:
        raise ValueError(f"model_id must be a string of 1 to {MAX_MODEL_ID} characters")
    if not model_id.isprintable():
        raise ValueError("model_id holds unprintable characters")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError("weights_digest must be 0x and 64 lowercase hex digits")
    if not isinstance(files, list) or not 0 < len(files) <= MAX_FILES:
        raise ValueError(f"files must be a list of 1 to {MAX_FILES} entries")
    parsed = tuple(_file(entry) for entry in files)
    names = [f.name for f in parsed]
    if len(set(names)) != len(names):
        raise ValueError("a file name appears twice")
    if sum(f.size for f in parsed) > MAX_MODEL_BYTES:
        raise ValueError(f"the files hold more than {MAX_MODEL_BYTES} bytes together")
    return ModelManifest(VERSION, model_id, digest, parsed)


def _file(entry: Any) -> ModelFile:
    if not isinstance(entry, dict) or set(entry) != _FILE_KEYS:
        raise ValueError(f"each file must be an object with exactly the keys {sorted(_FILE_KEYS)}")
    name, cid, size = entry["name"], entry["cid"], entry["size"]
    if not isinstance(name, str) or (problem := plain_name_problem(name)) is not None:
        raise ValueError(problem or "a file name is not a string")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_FILE_BYTES:
        raise ValueError(f"{name}: size must be an integer from 0 to {MAX_FILE_BYTES}")
    if not isinstance(cid, str):
        raise ValueError(f"{name}: cid must be a string")
    try:
        parsed = decode_cid(cid)
    except InputError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if parsed.version != 1 or parsed.codec not in (RAW, DAG_PB) or str(parsed) != cid:
        raise ValueError(f"{name}: {cid[:80]!r} is not a canonical raw or dag-pb CIDv1")
    return ModelFile(name, cid, size)

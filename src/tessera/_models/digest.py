"""The identity of a model version: a digest of its files, which governance approves."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 24


def weights_digest(folder: Path) -> str:
    """0x-hex sha256 over the name and bytes of every file in the model folder, in name order:
    weights, config and tokenizer together decide what the model answers."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + str(path.stat().st_size).encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return "0x" + digest.hexdigest()

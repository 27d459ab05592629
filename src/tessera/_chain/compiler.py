"""Compile the Vyper contracts shipped with the package, cached by source hash."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vyper
from vyper.cli.vyper_compile import compile_files

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tessera" / "contracts"


def _source_fingerprint() -> str:
    # Any change to any contract or module recompiles everything: modules are shared.
    digest = hashlib.sha256(vyper.__version__.encode())
    for path in sorted(CONTRACTS_DIR.glob("*.vy")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_artifact(name: str) -> Artifact:
    """ABI and bytecode of `contracts/<name>.vy`, compiled once per source version."""
    source = CONTRACTS_DIR / f"{name}.vy"
    if not source.exists():
        raise FileNotFoundError(f"no contract named {name!r} in {CONTRACTS_DIR}")
    cached = _cache_dir() / f"{name}-{_source_fingerprint()}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        return Artifact(name, data["abi"], data["bytecode"])
    out = compile_files([str(source)], ("abi", "bytecode"), paths=[str(CONTRACTS_DIR)])
    result = next(iter(out.values()))
    artifact = Artifact(name, result["abi"], result["bytecode"])
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"abi": artifact.abi, "bytecode": artifact.bytecode}))
    tmp.replace(cached)
    return artifact

"""`provenance.json`: what an adapter was trained from, written beside its weights.

It travels in the adapter's folder, so the folder's digest (the version the chain records and
receipts name) covers it: nobody can swap the data claim without changing the version. It holds
the snapshot (datanet ids, licences, batch counts and roots, the block) and every contribution
trained on, in order; its data root is the Merkle root the chain records. An imported adapter's
data is *declared*: the datanets are named, the contributions are not known, and it says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tessera._chain.models import Snapshot
from tessera._chain.registry import RegistryClient
from tessera._data.datanets import chain_snapshot_root
from tessera._data.snapshot import DatanetSnapshot, data_root
from tessera._errors import InputError, ModelError
from tessera._models.learned_texts import TRAINING_TEXTS
from tessera._models.model_card import config_hash
from tessera._store.cid import cid_for, digest_from_cid

FILE = "provenance.json"
VERSION = 1
MAX_BYTES = 64 << 20  # about a million contributions; bounded before parsing
ZERO = "0x" + "00" * 32
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ARTEFACTS = frozenset({TRAINING_TEXTS})  # the files training attribution is rebuilt from


@dataclass(frozen=True)
class DatanetEntry:
    id: int
    name: str
    license: str
    batches: int
    root: str  # the snapshot root of its first `batches` batches ("" when declared)


@dataclass(frozen=True)
class Provenance:
    model_id: str
    builder: str  # who trained or imported it: a copy of its publish sent by another is caught
    base_model: str
    base_digest: str
    proven: bool  # trained here on a snapshot; False: declared by an importer
    block: int
    datanets: tuple[DatanetEntry, ...]
    contributions: tuple[tuple[int, str], ...]  # (datanet id, CID), in training order
    config_hash: str
    settings: dict[str, Any]
    # what training attribution needs beside the weights, each (file name, CID): anyone who
    # fetches the folder can rebuild an answer's training attribution from exactly these
    artefacts: tuple[tuple[str, str], ...] = ()

    @property
    def data_root(self) -> str:
        return data_root(list(self.contributions)) if self.contributions else ZERO

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot as the models contract records it."""
        return Snapshot(tuple(d.id for d in self.datanets), tuple(d.batches for d in self.datanets))

    def to_bytes(self) -> bytes:
        body = asdict(self)
        body["version"] = VERSION
        body["data_root"] = self.data_root
        return json.dumps(body, sort_keys=True, indent=1).encode()


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"model name {name!r} is not allowed: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return name


def from_snapshot(
    model_id: str,
    builder: str,
    base_model: str,
    base_digest: str,
    snapshot: DatanetSnapshot,
    config_hash: str,
    settings: dict[str, Any],
    artefacts: tuple[tuple[str, str], ...] = (),
) -> Provenance:
    datanets = tuple(
        DatanetEntry(d.record.id, d.record.name, d.record.license, len(d.batches), d.root)
        for d in snapshot.datanets
    )
    contributions = tuple((d.datanet, d.cid) for d in snapshot.documents)
    return Provenance(
        model_id, builder, base_model, base_digest, True, snapshot.block, datanets,
        contributions, config_hash, settings, artefacts,
    )  # fmt: skip


def artefact_problems(folder: Path, p: Provenance) -> list[str]:
    """Where the folder's attribution artefacts are not what its provenance names: a file
    that is missing, does not hash to its CID, or is there without being named."""
    named = dict(p.artefacts)
    problems = [
        f"{name} is in the folder but its provenance names no CID for it"
        for name in ARTEFACTS
        if name not in named and (Path(folder) / name).is_file()
    ]
    for name, cid in named.items():
        path = Path(folder) / name
        if not path.is_file():
            problems.append(f"its provenance names {name} ({cid}), which the folder lacks")
        elif cid_for(path.read_bytes()) != cid:
            problems.append(f"{name} does not hash to the CID its provenance names ({cid})")
    return problems


def artefacts_of(folder: Path) -> tuple[tuple[str, str], ...]:
    """The attribution artefacts a trained folder holds, named by CID, for its provenance."""
    return tuple(
        (name, cid_for((Path(folder) / name).read_bytes()))
        for name in ARTEFACTS
        if (Path(folder) / name).is_file()
    )


def snapshot_problems(registry: RegistryClient, p: Provenance) -> list[str]:
    """Where a proven provenance's snapshot roots are not this chain's (declared: none)."""
    if not p.proven:
        return []
    problems = []
    for entry in p.datanets:
        root = chain_snapshot_root(registry, entry.id, entry.batches)
        if root != entry.root:
            problems.append(
                f"datanet #{entry.id}'s first {entry.batches} batches have root {root} on "
                f"chain, not the {entry.root} the adapter names"
            )
    return problems


def write_provenance(folder: Path, provenance: Provenance) -> None:
    (Path(folder) / FILE).write_bytes(provenance.to_bytes())


def read_provenance(folder: Path) -> Provenance:
    """The provenance in an adapter folder, checked: its data root must be the one its
    contributions give, so a folder whose claim was edited is refused, not published."""
    path = Path(folder) / FILE
    if not path.is_file():
        raise ModelError(
            f"{folder} has no {FILE}: train it with `tessera model train` or bring a PEFT "
            "adapter in with `tessera model import`"
        )
    if path.stat().st_size > MAX_BYTES:
        raise ModelError(f"{path} is over {MAX_BYTES} bytes, more than any provenance needs")
    try:
        body = json.loads(path.read_bytes())
        provenance = _parse(body)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is not a provenance file Tessera wrote ({exc})") from exc
    if body.get("data_root") != provenance.data_root:
        raise ModelError(
            f"{path} names data root {body.get('data_root')}, but its contributions give "
            f"{provenance.data_root}: the file was edited; train or import the model again"
        )
    return provenance


def _parse(body: dict[str, Any]) -> Provenance:
    if body["version"] != VERSION:
        raise ValueError(f"version {body['version']}, not {VERSION}")
    datanets = tuple(
        DatanetEntry(int(d["id"]), str(d["name"]), str(d["license"]), int(d["batches"]),
                     str(d["root"]))
        for d in body["datanets"]
    )  # fmt: skip
    contributions = tuple((int(d), str(c)) for d, c in body["contributions"])
    for digest in (body["base_digest"], body["config_hash"]):
        if not _HEX32.match(digest):
            raise ValueError(f"{digest!r} is not a 0x-hex 32-byte digest")
    if bool(body["proven"]) != bool(contributions):
        raise ValueError("a proven model lists its contributions, and only a proven one does")
    if len(set(contributions)) != len(contributions):
        raise ValueError("a contribution is listed twice")
    if not _ADDRESS.match(body["builder"]):
        raise ValueError(f"builder {body['builder']!r} is not an address")
    settings = dict(body["settings"])
    if body["proven"] and config_hash(settings) != body["config_hash"]:
        raise ValueError("its config hash is not the hash of its training settings")
    artefacts = tuple((str(n), str(c)) for n, c in body.get("artefacts", ()))
    for name, cid in artefacts:
        if name not in ARTEFACTS:
            raise ValueError(f"{name!r} is not an attribution artefact ({sorted(ARTEFACTS)})")
        try:
            digest_from_cid(cid)
        except InputError:
            raise ValueError(f"artefact {name} names {cid!r}, which is not a CID") from None
    return Provenance(
        check_model_name(body["model_id"]), body["builder"], str(body["base_model"]),
        body["base_digest"], bool(body["proven"]), int(body["block"]), datanets, contributions,
        body["config_hash"], settings, artefacts,
    )  # fmt: skip

"""Bring in an adapter trained elsewhere (a PEFT folder): its training data is declared, not
proven, and its provenance, card and chain record all say so."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from tessera._chain.registry import RegistryClient
from tessera._data.datanets import resolve_datanets
from tessera._errors import InputError
from tessera._factory.provenance import (
    DatanetEntry,
    Provenance,
    check_model_name,
    write_provenance,
)
from tessera._models.adapter import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    base_linear_layers,
    check_fits,
    read_adapter,
)
from tessera._models.digest import weights_digest

CARD = "README.md"
DECLARED_NOTE = (
    "\n## Provenance\n\nThe training data of this adapter is **declared by its publisher, not "
    "proven**: it was trained outside Tessera, so the datanets below are a claim, and no "
    "contribution list or data root backs it.\n\nDeclared datanets: {datanets}\n"
)


def import_adapter(
    registry: RegistryClient,
    builder: str,
    source: Path,
    name: str,
    declared: list[str],
    base: tuple[Path, str],
    into: Path,
) -> Path:
    """Copy the PEFT adapter in `source` to `into` (a new folder) with a declared provenance;
    `base` (folder, id) is the model it must fit."""
    check_model_name(name)
    if not declared:
        raise InputError(
            "name the datanets the adapter was trained on (`--datanet NAME`): an imported "
            "adapter's data is declared, and a model with no data named cannot be traced"
        )
    # plain LoRA within bounds, on layers of this base with their shapes, or one refusal
    check_fits(read_adapter(Path(source)), base_linear_layers(base[0]))
    if Path(into).exists():
        raise InputError(f"{into} exists: remove it or import under another name")
    entries = tuple(
        DatanetEntry(r.id, r.name, r.license, r.batch_count, "")
        for r in resolve_datanets(registry, declared)
    )
    for entry in entries:
        if entry.batches == 0:
            raise InputError(f"datanet {entry.name!r} has no contributions to have trained on")
    config = (Path(source) / ADAPTER_CONFIG).read_bytes()
    provenance = Provenance(
        name, builder, base[1], weights_digest(base[0]), False, registry.chain.block_number(),
        entries, (), "0x" + hashlib.sha256(config).hexdigest(), {"imported_from": "peft"},
    )  # fmt: skip
    Path(into).parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=Path(into).parent, prefix=f".{Path(into).name}.import-"))
    try:
        for file in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
            shutil.copyfile(Path(source) / file, work / file)
        card = Path(source) / CARD
        text = card.read_text(errors="replace") if card.is_file() else f"# {name}\n"
        names = ", ".join(f"{e.name} (#{e.id}, {e.license})" for e in entries)
        (work / CARD).write_text(text + DECLARED_NOTE.format(datanets=names))
        write_provenance(work, provenance)
        work.rename(into)  # one step: a folder at `into` is always a whole import
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Path(into)

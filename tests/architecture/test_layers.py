"""The layer table of docs/ARCHITECTURE.md, enforced: a package imports only lower layers.

Every module under src/tessera is read (imports inside functions and TYPE_CHECKING blocks
count too), so no import can run upward or sideways without this test failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import SRC, imported_modules

# lower number, lower layer; a package may import only packages with a lower number
LAYERS = {
    "_errors": 0,
    "_store": 1,
    "_chain": 1,
    "_crypto": 2,
    "_home": 3,
    "_data": 4,
    "_models": 4,
    "_govern": 4,
    "_payments": 4,
    "_parts": 4,
    "_attribution": 5,
    "_client": 5,
    "_factory": 5,  # the model factory: snapshots, training runs, provenance, tracing
    "_inference": 6,
    "_network": 6,  # the network as clients and operators see it
    "_api": 7,  # the facade: the library's one public door
    "_node": 7,  # the daemon: built from parts, never from the facade
    "_evaluation": 8,
    "_validator": 8,  # the validator daemon: re-executes with the node's own parts
    "__init__": 9,  # the package's exports: the one public door every surface goes through
    "web": 10,  # the web app: a person-facing surface, like the CLI
    "cli": 11,  # the person-facing surface (`tessera web` starts the web app)
}


def _package(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def _imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports; `tessera` itself (and the names it exports)
    count as the package's exports, `__init__`."""
    names = {n for n in imported_modules(path) if n.split(".")[0] == "tessera"}
    return {n.split(".")[1] if "." in n else "__init__" for n in names}


MODULES = sorted(SRC.rglob("*.py"))


def test_every_package_has_a_layer():
    assert {_package(m) for m in MODULES} == set(LAYERS)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: str(m.relative_to(SRC)))
def test_no_import_runs_upward_or_sideways(module):
    own = _package(module)
    wrong = {
        imported
        for imported in _imported_packages(module) - {own}
        if LAYERS.get(imported, 99) >= LAYERS[own]
    }
    assert not wrong, f"{own} (layer {LAYERS[own]}) imports {sorted(wrong)}"


def _documented_layers() -> dict[str, int]:
    """The `| layer | package | ...` rows of docs/ARCHITECTURE.md's layer table."""
    doc = SRC.parents[1] / "docs" / "ARCHITECTURE.md"
    table = doc.read_text().split("## Layers (bottom-up)")[1].split("\n## ")[0]
    rows: dict[str, int] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            name = cells[1].split("`")[1]
            rows["__init__" if name == "tessera" else name] = int(cells[0])
    return rows


def test_the_map_matches_the_enforced_layers():
    assert _documented_layers() == LAYERS

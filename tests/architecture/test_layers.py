"""The layer table of docs/ARCHITECTURE.md, enforced: a package imports only lower layers.

Every module under src/tessera is read (imports inside functions and TYPE_CHECKING blocks
count too), so no import can run upward or sideways without this test failing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tessera"

# lower number, lower layer; a package may import only packages with a lower number
LAYERS = {
    "errors": 0,
    "store": 1,
    "chain": 1,
    "crypto": 2,
    "home": 3,
    "data": 4,
    "models": 4,
    "govern": 4,
    "payments": 4,
    "parts": 4,
    "inference": 5,
    "client": 5,
    "attribution": 6,
    "api": 7,  # the facade: the library's one public door
    "node": 7,  # the daemon: built from parts, never from the facade
    "evaluation": 8,
    "cli": 9,  # the person-facing surface
    "__init__": 10,  # the package's exports
}


def _package(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "tessera":
                names.update(f"tessera.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("tessera.")}


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

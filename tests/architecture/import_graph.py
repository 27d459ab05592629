"""What a module under src/tessera imports, read with `ast` (imports inside functions and
TYPE_CHECKING blocks count too): the one reader the layer and public-surface tests share."""

from __future__ import annotations

import ast
from pathlib import Path

import tessera

SRC = Path(__file__).resolve().parents[2] / "src" / "tessera"


def imported_modules(path: Path, module: str | None = None) -> set[str]:
    """Every module `path` imports, as dotted names. Relative imports are resolved against
    `module` (default: the dotted name of `path` under src/tessera); `from tessera import x`
    names `tessera.x` unless x is one of the package's exports (`tessera.__all__`)."""
    own = (module or ".".join(["tessera", *path.relative_to(SRC).with_suffix("").parts])).split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = ".".join(own[: len(own) - node.level])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            if base == "tessera":
                found.update(
                    f"tessera.{a.name}" for a in node.names if a.name not in tessera.__all__
                )
    return found

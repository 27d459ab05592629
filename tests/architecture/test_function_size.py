"""No function in src/ is longer than about a screen: a long function is several ideas that
each deserve a name. Measured from the `def` line to the last line of the body."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tessera"
MAX_LINES = 60


def _functions() -> list[tuple[int, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((length, f"{path.relative_to(SRC)}:{node.lineno} {node.name}"))
    return found


def test_no_function_is_longer_than_a_screen():
    functions = _functions()
    assert len(functions) > 300  # the walk reads the whole package
    long = sorted((f for f in functions if f[0] > MAX_LINES), reverse=True)
    assert not long, f"split these (lines, where): {long}"

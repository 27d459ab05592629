"""Which words of a source the answer shares: the source as (text, shared) runs, so the page
can mark them without building HTML from strings."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
MIN_WORD = 4  # shorter words ("the", "of", "was") are shared by everything


def shared_runs(source: str, answer: str) -> list[tuple[str, bool]]:
    wanted = {w.lower() for w in WORD.findall(answer) if len(w) >= MIN_WORD}
    runs: list[tuple[str, bool]] = []
    at = 0
    for match in WORD.finditer(source):
        shared = match.group().lower() in wanted
        if match.start() > at:
            runs.append((source[at : match.start()], False))
        runs.append((match.group(), shared))
        at = match.end()
    if at < len(source):
        runs.append((source[at:], False))
    return _merged(runs)


def _merged(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Neighbouring runs of the same kind as one."""
    out: list[tuple[str, bool]] = []
    for text, shared in runs:
        if out and out[-1][1] == shared:
            out[-1] = (out[-1][0] + text, out[-1][1])
        else:
            out.append((text, shared))
    return out

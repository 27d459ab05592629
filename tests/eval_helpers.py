"""Running `tessera eval ...` as a user does: a subprocess, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys


def run_tessera_eval(command: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tessera.cli.main", "eval", command, *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )

"""The README's first command: `tessera demo`, on the real default models."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_demo_runs_the_whole_loop_on_the_embedded_defaults(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tessera.cli.main",
            "--home",
            str(tmp_path / "home"),
            "demo",
            "--chain",
            "inprocess",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TESSERA_PASSWORD": "demo", "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("VERIFIED by the registry contract") == 3
    assert "24 contributions in 4 batches, 4 contributors" in out
    assert out.count("receipt signed by the node and verified against the chain") == 3
    assert "A: Ilsa Varrow" in out

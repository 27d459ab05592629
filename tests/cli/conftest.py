from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import free_port

PASSWORD = "cli password"


@dataclass
class Cli:
    home: Path
    port: int

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "TESSERA_HOME": str(self.home), "TESSERA_PASSWORD": PASSWORD}
        env.update(extra)
        return env

    def popen(self, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "tessera.cli.main", *args],
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tessera.cli.main", *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )

    def ok(self, *args: str, **extra: str) -> str:
        done = self.run(*args, **extra)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def fails(self, *args: str, **extra: str) -> str:
        """Run a command that must fail with one `error:` sentence; return that sentence."""
        done = self.run(*args, **extra)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
        return lines[0]


@pytest.fixture(scope="session")
def cli_runner() -> type[Cli]:
    """The `Cli` class, for a test module that needs a home of its own."""
    return Cli


@pytest.fixture(scope="module")
def cli(anvil_binary, tmp_path_factory):
    """`tessera init` in a fresh home, with tessera's own managed anvil; stopped afterwards."""
    runner = Cli(tmp_path_factory.mktemp("cli") / "home", free_port())
    runner.ok("init", "--port", str(runner.port))
    yield runner
    runner.run("chain", "stop")

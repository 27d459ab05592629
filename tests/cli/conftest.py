"""Fixtures that run `tessera` in fresh homes (see cli_helpers.Cli)."""

from __future__ import annotations

import pytest
from backends import free_port
from cli_helpers import Cli


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

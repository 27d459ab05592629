"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tessera._chain.anvil import find_anvil
from tessera._errors import ChainError


@pytest.fixture(scope="session")
def anvil_binary() -> Path:
    """The anvil binary; a test that needs it skips without it, or fails when CI requires it."""
    try:
        return find_anvil()
    except ChainError as error:
        if os.environ.get("TESSERA_REQUIRE_ANVIL", "") not in ("", "0"):
            pytest.fail(f"TESSERA_REQUIRE_ANVIL is set and {error}")
        pytest.skip(str(error))


pytest_plugins = ["backends", "tiny_models"]

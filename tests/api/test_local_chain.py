"""`Tessera.local_chain`: start and stop the anvil a home manages, without opening the home."""

from __future__ import annotations

import pytest
from backends import free_port

from tessera import ConfigError, Tessera


def test_a_stopped_local_chain_starts_again_with_its_state(anvil_binary, tmp_path):
    home = tmp_path / "home"
    t = Tessera.init(home, anvil_port=free_port(), password="pw", scrypt_n=2**4)
    t.create_datanet("kept", "CC-BY-4.0")
    t.close()
    chain = Tessera.local_chain(home)
    try:
        assert chain.is_running()
        chain.stop()
        assert not chain.is_running()
        chain.stop()  # stopping a stopped chain is nothing to do
        chain.start()
        assert chain.is_running()
        assert [d.name for d in Tessera.open(home, password="pw").datanets()] == ["kept"]
    finally:
        chain.stop()


def test_a_home_on_another_chain_has_no_local_chain(tmp_path):
    Tessera.init(tmp_path / "home", chain="inprocess", password="pw", scrypt_n=2**4)
    with pytest.raises(ConfigError, match="not a local anvil: start and stop that chain"):
        Tessera.local_chain(tmp_path / "home")


def test_a_folder_that_is_not_a_home_has_no_local_chain(tmp_path):
    with pytest.raises(ConfigError):
        Tessera.local_chain(tmp_path / "nothing")

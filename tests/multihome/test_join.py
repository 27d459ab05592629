"""`tessera init --chain URL --join REGISTRY|FILE`: a home that joins instead of deploying."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tessera import ChainError, ConfigError, InputError, Tessera


@pytest.fixture(scope="module")
def deployed(anvil_url, tmp_path_factory):
    return Tessera.init(
        tmp_path_factory.mktemp("deployer") / "home", chain=anvil_url, password="pw", scrypt_n=16
    )


def _join(path, chain, source):
    return Tessera.init(path, chain=chain, password="pw", scrypt_n=16, join=source)


def test_joining_by_registry_address_finds_every_contract(deployed, anvil_url, tmp_path):
    joined = _join(tmp_path / "joined", anvil_url, deployed.config.deployment.registry)
    assert joined.config.deployment == deployed.config.deployment
    assert joined.config.joined and not deployed.config.joined
    assert joined.address() != deployed.address()  # its own keys
    reopened = Tessera.open(tmp_path / "joined", password="pw")
    assert reopened.config.deployment == deployed.config.deployment
    assert [d.name for d in reopened.datanets()] == [d.name for d in deployed.datanets()]


def test_joining_by_deployment_file(deployed, anvil_url, tmp_path):
    joined = _join(tmp_path / "joined", anvil_url, str(deployed.home.config_path))
    assert joined.config.deployment == deployed.config.deployment


def test_join_without_a_chain_url_is_refused_before_anything_is_made(deployed, tmp_path):
    with pytest.raises(ConfigError, match="--join needs --chain URL"):
        _join(tmp_path / "joined", None, deployed.config.deployment.registry)
    assert not (tmp_path / "joined" / "config.json").exists()


def test_an_address_that_is_not_a_registry_is_refused(deployed, anvil_url, tmp_path):
    with pytest.raises(ChainError, match="is not a Tessera registry with a linked deployment"):
        _join(tmp_path / "a", anvil_url, deployed.config.deployment.token)
    with pytest.raises(ChainError, match="there is no contract at"):
        _join(tmp_path / "b", anvil_url, "0x" + "11" * 20)
    assert not (tmp_path / "a" / "config.json").exists()


def test_a_bad_deployment_file_is_refused(anvil_url, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"contracts": {"registry": "0x"}}))
    with pytest.raises(ConfigError, match="is not a deployment file"):
        _join(tmp_path / "a", anvil_url, str(bad))
    with pytest.raises(InputError, match="neither a contract address"):
        _join(tmp_path / "b", anvil_url, str(tmp_path / "missing.json"))


def test_a_bad_gateway_url_is_refused(anvil_url, tmp_path):
    with pytest.raises(InputError, match="is not a gateway URL"):
        Tessera.init(tmp_path / "h", chain=anvil_url, password="pw", gateways=["ftp://x/y"])
    assert not (tmp_path / "h" / "config.json").exists()


def test_the_cli_prints_how_to_join_and_joins(deployed, anvil_url, tmp_path):
    env = {**os.environ, "TESSERA_PASSWORD": "pw", "COLUMNS": "200"}
    registry = deployed.config.deployment.registry
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tessera.cli.main",
            "--home",
            str(tmp_path / "cli"),
            "init",
            "--chain",
            anvil_url,
            "--join",
            registry,
            "--gateway",
            "http://127.0.0.1:8080",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"contracts joined; another home joins them with: tessera init --chain {anvil_url} "
        f"--join {registry}" in done.stdout
    )
    config = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert config["gateways"] == ["http://127.0.0.1:8080"] and config["joined"] is True

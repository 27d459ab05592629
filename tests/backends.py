"""Chain backends that conformance tests run on: py-evm in process and anvil over JSON-RPC.

A test that takes `chain` runs once per backend, like web3.py's EthModuleTest suites.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tessera._chain.client import IN_PROCESS, Chain
from tessera._chain.registry import RegistryClient
from tessera._errors import ContractRevert

BACKENDS = ["inprocess", "anvil"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def anvil_url(anvil_binary, tmp_path_factory) -> Iterator[str]:
    """One anvil for the whole session; tests deploy their own contracts on it."""
    from tessera._chain.anvil import AnvilProcess

    anvil = AnvilProcess(tmp_path_factory.mktemp("anvil"), free_port())
    anvil.start()
    yield anvil.url
    anvil.stop()


@pytest.fixture(params=BACKENDS)
def chain(request) -> Chain:
    if request.param == "inprocess":
        return Chain.connect(IN_PROCESS)
    return Chain.connect(request.getfixturevalue("anvil_url"))


@pytest.fixture
def funded(chain: Chain) -> Callable[[], LocalAccount]:
    """Make a fresh local account with gas money on `chain`."""

    def make() -> LocalAccount:
        account = Account.create()
        chain.fund(account.address, 10**20)
        return account

    return make


@pytest.fixture
def owner(funded) -> LocalAccount:
    return funded()


@pytest.fixture
def registry(chain: Chain, owner: LocalAccount) -> RegistryClient:
    return RegistryClient(chain, chain.deploy("registry", owner))


@contextmanager
def _refused(reason: str) -> Iterator[None]:
    with pytest.raises(ContractRevert) as caught:
        yield
    assert caught.value.reason == reason


@pytest.fixture
def refused() -> Callable[[str], AbstractContextManager[None]]:
    """`with refused("registry: name taken"): ...` fails unless exactly that reason reverts."""
    return _refused

"""Fixtures for contract tests: an in-process chain, accounts, deployment and revert checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from chain_helpers import deploy_contract
from dispute_world import disputes_built, dw  # noqa: F401 - fixtures for the disputes tests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def accounts(w3: Web3) -> list[str]:
    """Funded, unlocked accounts; `accounts[0]` deploys and so owns every contract."""
    return list(w3.eth.accounts)


@pytest.fixture
def signers() -> list[LocalAccount]:
    """Unfunded accounts with known keys, for signing permits and delegations."""
    return [Account.from_key(keccak(text=f"tessera signer {i}")) for i in range(3)]


@pytest.fixture
def deploy(w3: Web3, accounts: list[str]) -> Callable[..., Contract]:
    def _deploy(name: str, *args: Any) -> Contract:
        return deploy_contract(w3, name, *args, sender=accounts[0])

    return _deploy


@pytest.fixture
def initial_supply() -> int:
    return 1_000_000 * 10**18


@pytest.fixture
def token(deploy: Callable[..., Contract], accounts: list[str], initial_supply: int) -> Contract:
    """The governance token, its whole initial supply held (undelegated) by `accounts[1]`."""
    return deploy("token", "Tessera", "TSR", initial_supply, accounts[1])


@contextmanager
def _reverts(reason: str) -> Iterator[None]:
    # web3 raises ContractLogicError from a node, eth-tester's TransactionFailed in process
    with pytest.raises((ContractLogicError, TransactionFailed)) as caught:
        yield
    message = getattr(caught.value, "message", None) or str(caught.value)
    assert message == f"execution reverted: {reason}"


@pytest.fixture
def reverts() -> Callable[[str], AbstractContextManager[None]]:
    """`with reverts("votes: future lookup"): ...` fails unless that exact reason reverts."""
    return _reverts


@pytest.fixture
def mine(w3: Web3) -> Callable[[int], None]:
    """Mines empty blocks, e.g. to turn the current block into a past one."""

    def _mine(blocks: int = 1) -> None:
        w3.provider.ethereum_tester.mine_blocks(blocks)  # type: ignore[attr-defined]

    return _mine


Signature = tuple[int, bytes, bytes]


def _sign(
    signer: LocalAccount, contract: Contract, struct: str, fields: str, message: dict[str, Any]
) -> Signature:
    """Signs the EIP-712 `struct(fields)` under `contract`'s own domain."""
    _, name, version, chain_id, verifying_contract, _, _ = contract.functions.eip712Domain().call()
    domain = {
        "name": name,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }
    types = {
        struct: [dict(zip(("type", "name"), f.split(), strict=True)) for f in fields.split(",")]
    }
    signed = signer.sign_typed_data(domain, types, message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.fixture
def sign_permit() -> Callable[..., Signature]:
    """`sign_permit(signer, token, spender, value, nonce, deadline)`: an EIP-2612 permit."""

    def _sign_permit(
        signer: LocalAccount, token: Contract, spender: str, value: int, nonce: int, deadline: int
    ) -> Signature:
        fields = "address owner,address spender,uint256 value,uint256 nonce,uint256 deadline"
        message = {
            "owner": signer.address,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        }
        return _sign(signer, token, "Permit", fields, message)

    return _sign_permit


@pytest.fixture
def sign_delegation() -> Callable[..., Signature]:
    """`sign_delegation(signer, token, delegatee, nonce, expiry)`: a `delegate_by_sig` message."""

    def _sign_delegation(
        signer: LocalAccount, token: Contract, delegatee: str, nonce: int, expiry: int
    ) -> Signature:
        fields = "address delegatee,uint256 nonce,uint256 expiry"
        message = {"delegatee": delegatee, "nonce": nonce, "expiry": expiry}
        return _sign(signer, token, "Delegation", fields, message)

    return _sign_delegation


@pytest.fixture
def sign_voucher() -> Callable[..., bytes]:
    """`sign_voucher(client, settlement, node, amount)`: the 65-byte (r, s, v) payment voucher."""

    def _sign_voucher(client: LocalAccount, settlement: Contract, node: str, amount: int) -> bytes:
        fields = "address client,address node,uint256 amount"
        message = {"client": client.address, "node": node, "amount": amount}
        v, r, s = _sign(client, settlement, "Voucher", fields, message)
        return r + s + bytes([v])

    return _sign_voucher

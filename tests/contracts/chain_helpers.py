"""Deploying, reading logs and moving the clock on an in-process web3 chain, for contract tests.

The chain is run ahead of the wall clock (`run_ahead_of_wall_clock`), so each block is stamped
one second after the last and a test can name exact timestamps.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from tessera._chain.compiler import load_artifact


def deploy_contract(w3: Web3, name: str, *args: Any, sender: str | None = None) -> Contract:
    """Deploys `contracts/<name>.vy` from `sender` (the chain's first account by default)."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    address = w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)


def calldata(contract: Contract, fn: str, *args: Any) -> bytes:
    """The encoded call of `contract.fn(*args)`, as a proposal or timelock operation carries it."""
    return bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])


def events(contract: Contract, name: str, tx_hash) -> list:
    """`contract`'s `name` events in the receipt of `tx_hash` (other contracts' logs dropped)."""
    receipt = contract.w3.eth.get_transaction_receipt(tx_hash)
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def block_time(w3: Web3, tx_hash) -> int:
    """The timestamp of the block that holds `tx_hash`."""
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    return int(w3.eth.get_block(receipt["blockNumber"]).timestamp)


def latest_time(w3: Web3) -> int:
    """The latest block's timestamp, which calls run against."""
    return int(w3.eth.get_block("latest").timestamp)


def run_ahead_of_wall_clock(w3: Web3) -> None:
    """Moves the clock far past now: from then on each block is a second after the last."""
    w3.provider.ethereum_tester.time_travel(latest_time(w3) + 1 + 10**6)  # type: ignore[attr-defined]


def next_block_not_before(w3: Web3, timestamp: int) -> None:
    """Makes the next block's timestamp `timestamp` or, if that has passed, a second on."""
    if timestamp > latest_time(w3) + 1:
        w3.provider.ethereum_tester.time_travel(timestamp)  # type: ignore[attr-defined]


def next_block_at(w3: Web3, timestamp: int) -> None:
    """Makes `timestamp` exactly the next block's (so the next transaction's) timestamp."""
    next_block_not_before(w3, timestamp)
    assert latest_time(w3) + 1 == timestamp


def latest_block_at(w3: Web3, timestamp: int) -> None:
    """Makes `timestamp` the latest block's (calls see it); the next transaction is a second on."""
    next_block_at(w3, timestamp)
    w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    assert latest_time(w3) == timestamp


def back_to(w3: Web3, snapshot: Any) -> Web3:
    """`w3` with its chain reverted to `snapshot`: module-built state, fresh for each test."""
    w3.provider.ethereum_tester.revert_to_snapshot(snapshot)  # type: ignore[attr-defined]
    return w3

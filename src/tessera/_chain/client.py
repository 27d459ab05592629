"""One typed door to the chain: connect, deploy, call and transact with local keys.

Backends differ only in the web3 provider: py-evm in process (eth-tester) or JSON-RPC
(anvil, any EVM L2). Everything above this module is backend-agnostic.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception
from web3.types import TxParams, TxReceipt, Wei

from tessera._chain.compiler import load_artifact
from tessera._chain.logs import LogIndex
from tessera._errors import ChainError, ChainUnavailable, ContractRevert

IN_PROCESS = "inprocess"


_REVERTED = "execution reverted"
GAS_HEADROOM = 1.2


def _revert_reason(exc: Exception) -> str:
    message = str(getattr(exc, "message", None) or exc)
    _, _, reason = message.partition(_REVERTED)
    return reason.lstrip(": ").strip() or message


def _is_revert(exc: Exception) -> bool:
    # web3 raises ContractLogicError over JSON-RPC; eth-tester raises its own TransactionFailed
    return isinstance(exc, ContractLogicError) or _REVERTED in str(exc)


NONCE_RETRIES = 4


class Chain:
    def __init__(self, w3: Web3, url: str) -> None:
        self.w3 = w3
        self.url = url
        self.log_index = LogIndex(self)  # event logs read once, then only new blocks

    @classmethod
    def connect(cls, url: str) -> Chain:
        """`inprocess` for a fresh py-evm chain in this process, else a JSON-RPC URL."""
        if url == IN_PROCESS:
            return cls(Web3(EthereumTesterProvider()), url)
        if not url.startswith(("http://", "https://")):
            raise ChainError(
                f"chain URL {url!r} is not supported: give an http(s) JSON-RPC URL or 'inprocess'"
            )
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        try:
            w3.eth.chain_id  # noqa: B018 - the cheapest call that proves the node answers
        except (requests.RequestException, OSError, Web3Exception) as exc:
            raise ChainError(
                f"cannot reach the chain at {url} ({type(exc).__name__}): start it "
                "(`tessera chain start` for the local one) or pass a reachable --chain URL"
            ) from None
        return cls(w3, url)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def now(self) -> int:
        """The time the next block will carry at least: what periods are measured against.
        Blocks are stamped with the wall clock (anvil, L2s; the in-process chain is brought in
        line by `catch_up_clock`), so an idle chain's last block is older than now."""
        latest = int(self.w3.eth.get_block("latest")["timestamp"])
        return max(latest, int(time.time()))

    def catch_up_clock(self) -> None:
        """Before a time-checked transaction: a dev chain checks (estimates) a transaction
        against its last block's time, which on an idle chain lags the wall clock, and the
        in-process chain keeps a clock of its own; bring the next block up to now. A chain
        that refuses `evm_mine` (a real one) keeps producing blocks on its own."""
        now = int(time.time())
        if int(self.w3.eth.get_block("latest")["timestamp"]) >= now:
            return
        if self.url == IN_PROCESS:
            tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
            tester.time_travel(now)
            tester.mine_blocks(1)
            return
        with contextlib.suppress(Web3Exception, ValueError, OSError, requests.RequestException):
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def wait_until(self, timestamp: int) -> None:
        """Return once the next block carries at least `timestamp`. The in-process chain's
        clock is synthetic (one second per block), so it is moved there directly."""
        if self.url == IN_PROCESS:
            if self.now() < timestamp:
                tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
                tester.time_travel(timestamp)
                tester.mine_blocks(1)
            return
        while self.now() < timestamp:
            time.sleep(min(1.0, timestamp - self.now()))
        self.catch_up_clock()

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=load_artifact(name).abi
        )

    def has_code(self, address: str) -> bool:
        return len(self.w3.eth.get_code(Web3.to_checksum_address(address))) > 0

    def deploy(self, name: str, sender: LocalAccount, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(factory.constructor(*args), sender)
        address = receipt["contractAddress"]
        if not address:
            raise ChainError(f"deploying {name} produced no contract address")
        return str(address)

    def call(
        self, fn: ContractFunction, block: int | None = None, sender: str | None = None
    ) -> Any:
        """A read, at the latest block or at `block`; as sent by `sender`, if given (a dry
        run of a transaction someone else signs)."""
        transaction: TxParams | None = (
            {"from": Web3.to_checksum_address(sender)} if sender else None
        )
        try:
            return fn.call(transaction, block_identifier=block if block is not None else "latest")
        except Exception as exc:
            if _is_revert(exc):
                raise ContractRevert(_revert_reason(exc)) from None
            if isinstance(exc, requests.RequestException | OSError | Web3Exception):
                raise ChainUnavailable(
                    f"the chain at {self.url} did not answer ({type(exc).__name__}): start it "
                    "(`tessera chain start` for the local one) or check the --chain URL"
                ) from None
            raise

    def transact(self, fn: ContractFunction, sender: LocalAccount) -> TxReceipt:
        return self._send(fn, sender)

    def _send(self, fn: Any, sender: LocalAccount) -> TxReceipt:
        # one key may sign in two processes (an operator's CLI beside its running node): a
        # nonce taken between counting and sending is counted again, a few times at most
        for attempt in range(NONCE_RETRIES):
            try:
                return self._send_once(fn, sender)
            except ChainError as exc:
                if "nonce too low" not in str(exc).lower() or attempt == NONCE_RETRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _send_once(self, fn: Any, sender: LocalAccount) -> TxReceipt:
        # gas estimation runs the call first, so a revert surfaces with its reason and no gas spent
        try:
            tx = fn.build_transaction(
                {
                    "from": sender.address,
                    "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                    "chainId": self.chain_id,
                }
            )
        except Exception as exc:
            if _is_revert(exc):
                raise ContractRevert(_revert_reason(exc)) from None
            if isinstance(exc, Web3Exception | ValueError):
                raise self._explain(exc, sender) from None
            raise
        # the estimate is the least gas that worked against the pending block; a branch on
        # time or state that moves before the transaction is mined can need a little more
        limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        tx["gas"] = min(int(tx["gas"] * GAS_HEADROOM) + 10_000, limit)
        signed = sender.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        except TimeExhausted:
            raise ChainError(
                f"transaction {signed.hash.hex()} was sent but not mined within 120 s: check the "
                "chain; running the command again is safe"
            ) from None
        except (Web3Exception, ValueError) as exc:
            raise self._explain(exc, sender) from None
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} failed on chain (status 0)")
        return receipt

    def _explain(self, exc: Exception, sender: LocalAccount) -> ChainError:
        text = str(exc)
        if "insufficient funds" in text.lower() or "sender doesn't have enough" in text.lower():
            return ChainError(
                f"account {sender.address} has not enough ETH for gas on chain {self.chain_id}: "
                "fund it (`tessera account fund` on a local chain)"
            )
        return ChainError(f"the chain refused the transaction: {text}")

    def fund(self, address: str, wei: int) -> None:
        """Send ETH from the node's first unlocked dev account (local chains only)."""
        dev_accounts = self.w3.eth.accounts
        if not dev_accounts:
            raise ChainError(
                f"chain {self.chain_id} has no unlocked dev account to fund {address} from: "
                "send it ETH for gas yourself"
            )
        tx_hash = self.w3.eth.send_transaction(
            {"from": dev_accounts[0], "to": Web3.to_checksum_address(address), "value": Wei(wei)}
        )
        self.w3.eth.wait_for_transaction_receipt(tx_hash)

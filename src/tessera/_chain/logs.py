"""Event logs read once: every watched contract's logs are fetched together, from where the
last read stopped.

    chain.log_index.watch(addresses)          # the deployment's contracts, up front
    logs = chain.log_index.read(contract.events.EpochPosted, node=address)

A page that shows a node's epochs, a contributor's earnings or the challenges against a node
needs the logs of every block since deployment. Asking the chain for them on every view costs
a scan of the whole chain each time (on py-evm, which finds each log's transaction by walking
back from the head, seconds once it holds a few thousand blocks). Here the raw logs of all
watched contracts are fetched in one request per read, only for the blocks mined since the
last; each event's logs are decoded once. Filters (`node=`, `id=`) and block ranges are
applied to what is kept.

A reorganised chain (a JSON-RPC chain's reorg, or the in-process chain reverted to a
snapshot in a test) is noticed by the hash of the last block read: when it changed, or the
chain is now shorter, everything is read again from the start.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hexbytes import HexBytes
from web3 import Web3
from web3.types import EventData, LogReceipt

if TYPE_CHECKING:
    from tessera._chain.client import Chain


FETCH_BLOCKS = 10_000  # blocks per eth_getLogs: hosted JSON-RPC nodes cap a request's range


class LogIndex:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._watched: set[str] = set()  # checksummed addresses, read together
        self._first = 0  # the first block read: the deployment's (nothing before it is ours)
        self._raw: list[LogReceipt] = []  # their logs through block `_through`, in chain order
        self._through = -1
        self._through_hash = b""
        self._decoded: dict[tuple[str, bytes], tuple[int, list[EventData]]] = {}
        self._lock = threading.RLock()  # a node's threads and the web app's worker share it

    def watch(self, addresses: Iterable[str], from_block: int | None = None) -> None:
        """Read these contracts' logs with the others from now on (from `from_block`, the
        block they were deployed in, if given); one not watched before is read back on its
        own, once. Nothing changes unless that read succeeds."""
        with self._lock:
            if from_block is not None and not self._watched:
                self._first = from_block
            new = {Web3.to_checksum_address(a) for a in addresses} - self._watched
            if not new:
                return
            if self._through >= 0:
                self._check_unmoved()
            if self._through >= 0:
                older = self._fetch(new, self._first, self._through)
                self._raw = _in_order(self._raw + older)
                self._decoded = {}
            self._watched |= new

    def read(
        self,
        event: Any,  # a contract's event, e.g. `contract.events.EpochPosted`
        from_block: int = 0,
        to_block: int | None = None,
        **argument_filters: Any,
    ) -> list[Any]:  # EventData, as AttributeDicts: `log.args.node` reads as in web3
        """The event's logs in blocks `from_block` to `to_block` (the latest: None) whose
        indexed arguments equal `argument_filters`, in chain order."""
        with self._lock:
            self.watch([event.address])
            self._catch_up()
            logs = self._decode(event)
        names = {i["name"] for i in event.abi["inputs"]}
        unknown = set(argument_filters) - names
        if unknown:
            raise ValueError(f"{event.event_name} has no argument {sorted(unknown)}")
        last = to_block if to_block is not None else float("inf")
        wanted = {name: _comparable(value) for name, value in argument_filters.items()}
        return [
            log
            for log in logs
            if from_block <= log["blockNumber"] <= last
            and all(_comparable(log["args"][name]) == value for name, value in wanted.items())
        ]

    def catch_up(self) -> None:
        """Read the watched contracts' logs up to the latest block now (a page then reads
        only what was mined since)."""
        with self._lock:
            self._catch_up()

    def _check_unmoved(self) -> None:
        """Start over if the last block read is no longer on the chain (a reorg, a revert)."""
        head = self.chain.block_number()
        if self._through > head or self._hash(self._through) != self._through_hash:
            self._raw, self._through, self._through_hash, self._decoded = [], -1, b"", {}

    def _catch_up(self) -> None:
        if self._through >= 0:
            self._check_unmoved()
        head = self.chain.block_number()
        if head <= self._through:
            return
        head_hash = self._hash(head)
        fetched = self._fetch(self._watched, max(self._through + 1, self._first), head)
        if self._hash(head) != head_hash:
            return  # the chain moved while it was read: keep nothing, read again next time
        self._raw = self._raw + fetched  # fetched is all after _through, in order
        self._through, self._through_hash = head, head_hash

    def _decode(self, event: Any) -> list[EventData]:
        key = (Web3.to_checksum_address(event.address), HexBytes(event.topic))
        position, logs = self._decoded.get(key, (0, []))
        decoder = event()
        added = [
            decoder.process_log(raw)
            for raw in self._raw[position:]
            if raw["address"] == key[0] and raw["topics"] and HexBytes(raw["topics"][0]) == key[1]
        ]
        logs = logs + added
        self._decoded[key] = (len(self._raw), logs)
        return logs

    def _fetch(self, addresses: Iterable[str], first: int, last: int) -> list[LogReceipt]:
        watched = [Web3.to_checksum_address(a) for a in sorted(addresses)]
        found: list[LogReceipt] = []
        for start in range(first, last + 1, FETCH_BLOCKS):
            stop = min(last, start + FETCH_BLOCKS - 1)
            found.extend(
                self.chain.w3.eth.get_logs(
                    {"address": watched, "fromBlock": start, "toBlock": stop}
                )
            )
        return _in_order(found)

    def _hash(self, number: int) -> bytes:
        return bytes(self.chain.w3.eth.get_block(number)["hash"])


def _in_order(logs: list[LogReceipt]) -> list[LogReceipt]:
    return sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"]))


def _comparable(value: Any) -> Any:
    # addresses arrive checksummed from logs and in any case from callers; bytes as HexBytes
    if isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X"):
        return value.lower()
    if isinstance(value, bytes | bytearray):
        return HexBytes(value)
    return value

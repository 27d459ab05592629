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


class LogIndex:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._watched: set[str] = set()  # checksummed addresses, read together
        self._raw: list[LogReceipt] = []  # their logs through block `_through`, in chain order
        self._through = -1
        self._through_hash = b""
        self._decoded: dict[tuple[str, bytes], tuple[int, list[EventData]]] = {}
        self._lock = threading.RLock()  # a node's threads and the web app's worker share it

    def watch(self, addresses: Iterable[str]) -> None:
        """Read these contracts' logs with the others from now on; one not watched before is
        read back to block 0 on its own, once."""
        with self._lock:
            new = {Web3.to_checksum_address(a) for a in addresses} - self._watched
            if not new:
                return
            self._watched |= new
            if self._through >= 0:
                self._raw = sorted(
                    self._raw + self._fetch(new, 0, self._through),
                    key=lambda log: (log["blockNumber"], log["logIndex"]),
                )
                self._decoded.clear()

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

    def _catch_up(self) -> None:
        head = self.chain.block_number()
        if self._through >= 0 and (
            self._through > head or self._hash(self._through) != self._through_hash
        ):  # reorganised: read it all again
            self._raw, self._through, self._decoded = [], -1, {}
        if head > self._through:
            self._raw.extend(self._fetch(self._watched, self._through + 1, head))
            self._through, self._through_hash = head, self._hash(head)

    def _decode(self, event: Any) -> list[EventData]:
        key = (Web3.to_checksum_address(event.address), HexBytes(event.topic))
        position, logs = self._decoded.get(key, (0, []))
        decoder = event()
        for raw in self._raw[position:]:
            topics = raw["topics"]
            if raw["address"] == key[0] and topics and HexBytes(topics[0]) == key[1]:
                logs.append(decoder.process_log(raw))
        self._decoded[key] = (len(self._raw), logs)
        return list(logs)

    def _fetch(self, addresses: Iterable[str], first: int, last: int) -> list[LogReceipt]:
        return list(
            self.chain.w3.eth.get_logs(
                {
                    "address": [Web3.to_checksum_address(a) for a in sorted(addresses)],
                    "fromBlock": first,
                    "toBlock": last,
                }
            )
        )

    def _hash(self, number: int) -> bytes:
        return bytes(self.chain.w3.eth.get_block(number)["hash"])


def _comparable(value: Any) -> Any:
    # addresses arrive checksummed from logs and in any case from callers
    return value.lower() if isinstance(value, str) else value

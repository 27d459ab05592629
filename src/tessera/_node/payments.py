"""The node's till: check a request's voucher against what the client owes before serving.

A voucher is enough when its cumulative amount covers what the channel already redeemed on
chain, what the client owes for answers not yet settled, what its other requests in flight
may cost, and the most this request can cost. The client's channel to this node (less its
pending withdrawal) must cover the unredeemed part: what it committed to other nodes never
counts. Anything short is an HTTP 402 (`NodeError`) that says how much.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eth_utils import to_checksum_address

from tessera._chain.settlement import SettlementClient
from tessera._crypto.voucher import VOUCHER_HEADER, Voucher
from tessera._errors import InputError, NodeError, SignatureError
from tessera._payments.ledger import ReceiptDB

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Reservation:
    client: str
    amount: int  # the most the request can cost, held until its receipt is saved


FREE = Reservation(ZERO_ADDRESS, 0)


class PaymentGate:
    def __init__(
        self,
        settlement: SettlementClient,
        db: ReceiptDB,
        node: str,
        chain_id: int,
        max_header_bytes: int = 2048,
    ) -> None:
        self.settlement = settlement
        self.max_header_bytes = max_header_bytes
        self.db = db
        self.node = to_checksum_address(node)
        self.chain_id = chain_id
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def reserve(self, header: str | None, max_price: int) -> Reservation:
        voucher = self._parse(header)
        client = voucher.client
        with self._lock:  # one check at a time, so two requests cannot spend one authorisation
            redeemed = self.settlement.redeemed(client, self.node)
            if voucher.amount < redeemed:
                raise NodeError(
                    f"this voucher authorises {voucher.amount}, below the {redeemed} this "
                    "channel already redeemed on chain: sign a voucher for the cumulative total",
                    status=402,
                    code="voucher_below_redeemed",
                    param="voucher",
                    details={"redeemed": str(redeemed), "authorised": str(voucher.amount)},
                )
            stored = self._stored(client)
            best = voucher if stored is None or stored.amount < voucher.amount else stored
            unredeemed = self.db.owed(client) + self._in_flight.get(client, 0) + max_price
            needed = redeemed + unredeemed
            if best.amount < needed:
                raise NodeError(
                    f"this request may cost up to {max_price}; with {needed - max_price - redeemed}"
                    f" owed and unsettled, the channel needs a voucher for {needed} but the best "
                    f"one authorises {best.amount}: {needed - best.amount} is missing",
                    status=402,
                    code="insufficient_voucher",
                    param="voucher",
                    details={
                        "required": str(needed),
                        "authorised": str(best.amount),
                        "missing": str(needed - best.amount),
                    },
                )
            balance = self.settlement.balance(client, self.node)
            leaving = min(self.settlement.withdrawing(client, self.node), balance)
            if balance - leaving < unredeemed:
                raise self._unfunded(client, balance, leaving, unredeemed)
            if voucher is best:
                self.db.save_voucher(voucher)  # durable: it is what the node will redeem
            self._in_flight[client] = self._in_flight.get(client, 0) + max_price
        return Reservation(client, max_price)

    def voucher_client(self, header: str | None) -> str:
        """The client whose valid voucher for this node `header` is; else the voucher's 402."""
        return self._parse(header).client

    def _unfunded(self, client: str, balance: int, leaving: int, required: int) -> NodeError:
        """The 402 for a channel to this node that holds too little: funds committed to
        other nodes' channels never count here."""
        return NodeError(
            f"the escrow channel of {client} to this node holds {balance}"
            + (f" ({leaving} of it being withdrawn)" if leaving else "")
            + f", short of the {required} this channel may need: deposit into this node's "
            f"channel with `tessera deposit AMOUNT --node {self.node}`",
            status=402,
            code="insufficient_escrow",
            param="voucher",
            details={
                "escrow": str(balance),
                "withdrawing": str(leaving),
                "required": str(required),
                "node": self.node,
            },
        )

    def _stored(self, client: str) -> Voucher | None:
        """The client's best kept voucher, unless the contract would refuse it (kept by an
        older node): then it is dropped, so this request's valid voucher replaces it."""
        stored = self.db.voucher(client)
        if stored is None:
            return None
        try:
            stored.verify()
        except SignatureError:
            self.db.drop_voucher(client)
            return None
        return stored

    def shrink(self, reservation: Reservation, amount: int) -> Reservation:
        """Hold only `amount` of a reservation (at most what it holds) once it is known."""
        amount = min(amount, reservation.amount)
        self.release(Reservation(reservation.client, reservation.amount - amount))
        return Reservation(reservation.client, amount)

    def release(self, reservation: Reservation) -> None:
        if reservation.amount == 0:
            return
        with self._lock:
            left = self._in_flight.get(reservation.client, 0) - reservation.amount
            if left > 0:
                self._in_flight[reservation.client] = left
            else:
                self._in_flight.pop(reservation.client, None)

    def in_flight(self, client: str) -> int:
        """What the client's requests being answered hold: the most they may still cost."""
        with self._lock:
            return self._in_flight.get(client, 0)

    def _parse(self, header: str | None) -> Voucher:
        if not header:
            raise NodeError(
                f"this node charges per token (see /v1/models): send an {VOUCHER_HEADER} header "
                "with a voucher signed by your account (`tessera ask` and NodeClient do it)",
                status=402,
                code="payment_required",
                param="voucher",
            )
        if len(header) > self.max_header_bytes:
            raise NodeError(
                f"the {VOUCHER_HEADER} header is {len(header)} characters; a voucher takes "
                f"fewer than {self.max_header_bytes}: send the one tessera.NodeClient signs",
                status=402,
                code="invalid_voucher",
                param="voucher",
            )
        try:
            voucher = Voucher.from_header(header)
        except InputError as exc:
            raise NodeError(str(exc), status=402, code="invalid_voucher", param="voucher") from None
        mine = (self.node, self.chain_id, self.settlement.address)
        theirs = (
            to_checksum_address(voucher.node),
            voucher.chain_id,
            to_checksum_address(voucher.settlement),
        )
        if theirs != mine:
            raise NodeError(
                f"the voucher is for node {theirs[0]} on chain {theirs[1]} (settlement "
                f"{theirs[2]}); this is node {mine[0]} on chain {mine[1]} (settlement {mine[2]})",
                status=402,
                code="invalid_voucher",
                param="voucher",
            )
        try:
            voucher.verify()
        except SignatureError as exc:
            raise NodeError(str(exc), status=402, code="invalid_voucher", param="voucher") from None
        return voucher

"""How an answer reaches its client, whole or streamed, and the status its receipt ends in.

A streamed answer is an `AnswerStream`, a state machine the route only iterates:

    STREAMING --the answer is complete; its receipt is signed and saved pending--> SIGNED
    STREAMING --the client left: decoding stops, no receipt--> CANCELLED
    STREAMING --the engine (or signing) failed: no receipt--> FAILED
    SIGNED --[DONE] was sent: the receipt is delivered and will be redeemed--> DELIVERED
    SIGNED --the client left before [DONE]: the receipt is kept, never redeemed--> UNDELIVERED

Every end (DELIVERED, UNDELIVERED, CANCELLED, FAILED) releases the payment reservation once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from enum import Enum
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from tessera._inference.engine import Completion
from tessera._node.service import Answer, NodeService, Pending, Question
from tessera._payments.ledger import DELIVERED, PENDING, UNDELIVERED


async def deliver_whole(
    service: NodeService, question: Question, client_left: Callable[[], Awaitable[bool]]
) -> Answer | None:
    """Answer in one piece and save the receipt as delivered; None (and no receipt) when the
    client left before the answer was ready."""
    pending = await run_in_threadpool(service.submit, question)
    try:
        completion = await asyncio.wrap_future(pending.future)
        answer = service.complete(question, completion, pending)
        if await client_left():  # nobody to deliver to: leave no receipt
            return None
        if answer.receipt:
            await run_in_threadpool(service.receipts.save, answer.receipt, DELIVERED)
        return answer
    finally:
        service.release(pending)


class Phase(Enum):
    STREAMING = "streaming"  # pieces of the answer go out as the engine makes them
    SIGNED = "signed"  # complete; the receipt is saved pending; the last events go out
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.STREAMING: frozenset({Phase.SIGNED, Phase.CANCELLED, Phase.FAILED}),
    Phase.SIGNED: frozenset({Phase.DELIVERED, Phase.UNDELIVERED}),
    Phase.DELIVERED: frozenset(),
    Phase.UNDELIVERED: frozenset(),
    Phase.CANCELLED: frozenset(),
    Phase.FAILED: frozenset(),
}


class Framing(Protocol):
    """How a stream's events are written on the wire (wire.SseChunks: OpenAI's, as SSE)."""

    def opening(self) -> list[str]: ...
    def piece(self, text: str) -> str: ...
    def closing(self, answer: Answer) -> list[str]: ...


class AnswerStream:
    """One streamed answer, from its first piece to its receipt's last status."""

    def __init__(
        self,
        service: NodeService,
        question: Question,
        pending: Pending,
        pieces: asyncio.Queue[str],
        framing: Framing,
    ) -> None:
        self.service, self.question, self.pending = service, question, pending
        self.framing, self._pieces = framing, pieces
        self.phase = Phase.STREAMING
        self.answer: Answer | None = None  # once SIGNED

    @classmethod
    async def open(cls, service: NodeService, question: Question, framing: Framing) -> AnswerStream:
        """Queue the generation. Refusals (unknown model, unpaid, empty datanet, too long)
        raise here, before any event: the client gets an error, not a 200."""
        loop, pieces = asyncio.get_running_loop(), asyncio.Queue[str]()

        def put(piece: str) -> None:  # on the engine thread: hand the piece to this loop
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        streamed = replace(question, on_text=put, cancelled=threading.Event())
        pending = await run_in_threadpool(service.submit, streamed)
        return cls(service, streamed, pending, pieces, framing)

    async def events(self) -> AsyncIterator[str]:
        """The events, in order. Closing this iterator early (the client left) or a failure
        ends the stream too; either way it ends in exactly one end phase."""
        try:
            for event in self.framing.opening():
                yield event
            done = asyncio.wrap_future(self.pending.future)
            while (piece := await self._next_piece(done)) is not None:
                yield self.framing.piece(piece)
            closing = self.framing.closing(await self._sign(done))
            for event in closing:  # the receipt is durable before these can reach the client
                yield event
        except Exception:
            self._end(Phase.FAILED if self.phase is Phase.STREAMING else Phase.UNDELIVERED)
            raise
        else:  # the consumer asked for more after [DONE]: the client has every event
            self._end(Phase.DELIVERED)
        finally:  # GeneratorExit or cancellation: the client went away
            self.close()

    def close(self) -> None:
        """End a stream whose client is gone, read or not; a no-op once it has ended. The
        server calls it however the response ends: an iterator never started never runs
        its own `finally`."""
        if self.phase is Phase.STREAMING:
            self._end(Phase.CANCELLED)
        elif self.phase is Phase.SIGNED:
            self._end(Phase.UNDELIVERED)

    async def _next_piece(self, done: asyncio.Future[Completion]) -> str | None:
        """The next piece of text; None once the engine finished and every piece was sent."""
        while self._pieces.empty():
            if done.done():
                return None
            getter = asyncio.ensure_future(self._pieces.get())
            either: set[asyncio.Future[Any]] = {getter, done}
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                getter.cancel()  # a no-op once it holds a piece
            if getter.done() and not getter.cancelled():
                return getter.result()
        return self._pieces.get_nowait()

    async def _sign(self, done: asyncio.Future[Completion]) -> Answer:
        """STREAMING -> SIGNED: attribute, sign and durably save the receipt as pending."""
        answer = self.service.complete(self.question, await done, self.pending)
        if answer.receipt:
            await run_in_threadpool(self.service.receipts.save, answer.receipt, PENDING)
        self.answer = answer
        self._move(Phase.SIGNED)
        return answer

    def _end(self, phase: Phase) -> None:
        """Move to an end: stop decoding unless delivered, settle the receipt, release."""
        self._move(phase)
        try:
            if phase is not Phase.DELIVERED:
                self.question.cancelled.set()  # stop decoding for a client that is gone
            receipt = self.answer.receipt if self.answer is not None else None
            if receipt is not None:
                status = DELIVERED if phase is Phase.DELIVERED else UNDELIVERED
                self.service.receipts.set_status(receipt.id, status)
        finally:
            self.service.release(self.pending)

    def _move(self, to: Phase) -> None:
        if to not in TRANSITIONS[self.phase]:
            raise RuntimeError(f"delivery: a {self.phase.value} stream cannot become {to.value}")
        self.phase = to

"""The life of a streamed answer (delivery.AnswerStream), driven without an HTTP server: a
real paying node's service, tiny models, an in-process chain; the test is the client."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from money_helpers import TSR
from node_helpers import build_test_node

from tessera._crypto.receipt import Receipt
from tessera._errors import NodeError
from tessera._node import questions, wire
from tessera._node.delivery import TRANSITIONS, AnswerStream, Phase, deliver_whole
from tessera._node.runtime import Node
from tessera._node.service import NodeService
from tessera._payments.ledger import DELIVERED, PENDING, UNDELIVERED

ASK = {
    "model": "gemma-3-270m",
    "max_tokens": 24,
    "messages": [{"role": "user", "content": "Who founded the Ulora Brewery?"}],
}
ENDS = {Phase.DELIVERED, Phase.UNDELIVERED, Phase.CANCELLED, Phase.FAILED}


@dataclass
class Paying:
    """A node that charges, and a client with escrow and a voucher for 1 TSR."""

    built: Node
    voucher: str
    client: str

    @property
    def service(self) -> NodeService:
        return self.built.service


@pytest.fixture(scope="module")
def node(tmp_path_factory, wide_generator, tiny_embedder):
    folder = tmp_path_factory.mktemp("streams")
    t, built = build_test_node(
        folder, wide_generator, tiny_embedder, payments=True, settle_check_s=None
    )
    t.new_account("client")
    t.transfer(10 * TSR, "client")
    t.deposit(5 * TSR, built.service.node_key.address, "client")
    voucher = t.sign_voucher(built.service.node_key.address, TSR, "client")
    yield Paying(built, voucher.to_header(), voucher.client)
    built.close()


def question(node, vouchers=None, **changes):
    body = wire.ChatRequest.model_validate({**ASK, **changes})
    vouchers = [node.voucher] if vouchers is None else vouchers
    return questions.from_chat(body, vouchers, node.service.config)


def receipts(service) -> int:
    return sum(service.receipts.count(s) for s in (PENDING, DELIVERED, UNDELIVERED))


async def open_stream(node, **changes) -> AnswerStream:
    service = node.service
    framing = wire.SseChunks(service.config.model_id, chat=True)
    return await AnswerStream.open(service, question(node, **changes), framing)


def data(event: str):
    assert event.startswith("data: ") and event.endswith("\n\n")
    body = event.removeprefix("data: ").removesuffix("\n\n")
    return body if body == "[DONE]" else json.loads(body)


def held(stream: AnswerStream) -> int:
    return stream.service.payments.in_flight(stream.pending.reservation.client)


def finished(stream: AnswerStream):
    """The engine's last word on the stream's job (it must stop decoding for a client gone)."""
    return stream.pending.future.result(timeout=30)


def test_every_phase_is_reached_from_streaming_and_the_ends_are_final():
    reached, frontier = {Phase.STREAMING}, [Phase.STREAMING]
    while frontier:
        new = TRANSITIONS[frontier.pop()] - reached
        reached |= new
        frontier += new
    assert reached == set(Phase)
    assert all(not TRANSITIONS[end] for end in ENDS)
    assert TRANSITIONS[Phase.SIGNED] == {Phase.DELIVERED, Phase.UNDELIVERED}
    assert [p for p in Phase if Phase.SIGNED in TRANSITIONS[p]] == [Phase.STREAMING]


def test_a_stream_read_to_the_end_is_signed_then_delivered(node):
    service, before = node.service, receipts(node.service)

    async def client():
        stream = await open_stream(node)
        assert stream.phase is Phase.STREAMING and held(stream) > 0
        events, seen = stream.events(), []
        async for event in events:
            seen.append(data(event))
            if seen[-1] != "[DONE]" and "receipt" in seen[-1]:
                receipt = Receipt.from_json(seen[-1]["receipt"])
                # durable, as pending, before the last event reaches the client
                assert stream.phase is Phase.SIGNED
                assert service.receipts.status(receipt.id) == PENDING
        return stream, seen, receipt

    stream, seen, receipt = asyncio.run(client())
    assert stream.phase is Phase.DELIVERED and held(stream) == 0
    assert service.receipts.status(receipt.id) == DELIVERED and receipts(service) == before + 1
    assert seen[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert seen[-1] == "[DONE]"
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in seen[1:-1])
    assert len(seen) > 3 and text == receipt.response_text == stream.answer.text
    assert seen[-2]["choices"][0]["finish_reason"] in {"stop", "length"}
    assert not stream.question.cancelled.is_set()


@pytest.mark.parametrize("leaves", ["closes the stream", "cancels the task"])
def test_a_client_leaving_mid_stream_cancels_it_with_no_receipt(node, leaves):
    service, before = node.service, receipts(node.service)

    async def client():
        stream = await open_stream(node, max_tokens=64)
        events = stream.events()
        await anext(events)  # the opening chunk
        assert "content" in data(await anext(events))["choices"][0]["delta"]  # a piece
        if leaves == "closes the stream":  # what the event loop does to a dropped iterator
            await events.aclose()
        else:  # what the server does when it sees the client disconnect
            reader = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
        return stream

    stream = asyncio.run(client())
    assert stream.phase is Phase.CANCELLED and stream.answer is None
    assert stream.question.cancelled.is_set() and finished(stream).finish_reason == "cancelled"
    assert held(stream) == 0 and receipts(service) == before


def test_a_client_leaving_after_the_receipt_was_signed_leaves_it_undelivered(node):
    service = node.service

    async def client():
        stream = await open_stream(node)
        events = stream.events()
        async for event in events:
            if "receipt" in data(event):  # the last chunk, before [DONE]
                break
        await events.aclose()
        return stream

    stream = asyncio.run(client())
    assert stream.phase is Phase.UNDELIVERED and held(stream) == 0
    assert service.receipts.status(stream.answer.receipt.id) == UNDELIVERED


def test_an_engine_failing_mid_stream_fails_it_with_no_receipt(node, monkeypatch):
    service, before = node.service, receipts(node.service)
    packed, steps = node.built.engine.packed, []
    real_step = packed.step

    def breaks_on_the_third_step(*args):
        steps.append(1)
        if len(steps) == 3:
            raise RuntimeError("the accelerator fell over")
        return real_step(*args)

    monkeypatch.setattr(packed, "step", breaks_on_the_third_step)

    async def client():
        stream = await open_stream(node, max_tokens=64)
        seen = []
        with pytest.raises(RuntimeError, match="fell over"):
            async for event in stream.events():
                seen.append(data(event))
        return stream, seen

    stream, seen = asyncio.run(client())
    assert len(seen) >= 2 and "[DONE]" not in seen  # pieces went out, then it broke
    assert stream.phase is Phase.FAILED and stream.answer is None
    assert held(stream) == 0 and receipts(service) == before


def test_a_stream_never_read_is_cancelled_by_close_and_released_once(node):
    """The server closes the stream however the response ends; another request of the same
    client keeps exactly what it holds."""
    gate = node.service.payments

    async def client():
        other = gate.reserve(node.voucher, 12345)
        try:
            stream = await open_stream(node)
            stream.close()  # the client left before the first event
            stream.close()
            await stream.events().aclose()
            return stream, gate.in_flight(node.client)
        finally:
            gate.release(other)

    stream, left = asyncio.run(client())
    assert stream.phase is Phase.CANCELLED and left == 12345
    assert finished(stream).finish_reason == "cancelled"


def test_a_refused_stream_opens_no_stream_and_holds_nothing(node):
    service, before = node.service, receipts(node.service)
    unpaid = question(node, vouchers=[])
    with pytest.raises(NodeError) as refused:
        asyncio.run(AnswerStream.open(service, unpaid, wire.SseChunks("m", chat=True)))
    assert refused.value.code == "payment_required" and receipts(service) == before
    assert service.payments.in_flight(node.client) == 0


@pytest.mark.parametrize("left", [False, True])
def test_a_whole_answer_is_delivered_unless_the_client_left(node, left):
    service, before = node.service, receipts(node.service)

    async def client_left() -> bool:
        return left

    answer = asyncio.run(deliver_whole(service, question(node), client_left))
    assert service.payments.in_flight(node.client) == 0
    if left:
        assert answer is None and receipts(service) == before
    else:
        assert service.receipts.status(answer.receipt.id) == DELIVERED
        assert receipts(service) == before + 1

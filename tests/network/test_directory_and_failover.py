"""Three operators in three homes on one anvil: the client lists them, the rule picks one, and
the client fails over when the first choice is down, paying only the node that delivered.

A serves the approved model at the default price, B the same model dearer, C a model version
governance never approved.
"""

from __future__ import annotations

import pytest
from network_homes import STAKE, approve, first_home, fund_client, joined_home, operate

from tessera import NodeError
from tessera._network.failover import ask_in_turn
from tessera._network.selection import choose

QUESTION = "Who founded the Ulora Brewery?"


@pytest.fixture(scope="module")
def network(anvil_url, tmp_path_factory, wide_generator, tiny_generator, tiny_embedder):
    root = tmp_path_factory.mktemp("net")
    first = first_home(root / "a", anvil_url)
    approve(first, wide_generator)
    a = operate(first, wide_generator, tiny_embedder)
    b = operate(
        joined_home(root / "b", anvil_url, first),
        wide_generator,
        tiny_embedder,
        price_per_input_token=2 * 10**12,
    )
    c = operate(joined_home(root / "c", anvil_url, first), tiny_generator, tiny_embedder)
    fund_client(first, "client", [a.address, b.address, c.address])
    yield first, {"a": a, "b": b, "c": c}
    for operator in (a, b, c):
        operator.stop()


def test_the_directory_lists_stake_models_approval_prices_and_health(network):
    first, ops = network
    listed = {n.address: n for n in first.nodes()}
    assert set(listed) == {op.address for op in ops.values()}
    for name, op in ops.items():
        node = listed[op.address]
        assert (node.endpoint, node.stake, node.active) == (op.url, STAKE, True)
        assert node.eligible
        assert node.healthy and node.latency_ms is not None and node.latency_ms > 0, node.error
        assert [m.approved for m in node.models] == [name != "c"]
        assert node.input_price == op.config.price_per_input_token
        assert node.output_price == op.config.price_per_output_token
        assert node.default_max_tokens == op.config.default_max_tokens
    choice = choose(list(listed.values()))
    assert [n.address for n in choice.candidates] == [ops["a"].address, ops["b"].address]
    assert [(n.address, why) for n, why in choice.skipped] == [
        (ops["c"].address, "serves no approved version of any model")
    ]


def test_the_network_answers_from_the_cheapest_approved_node(network):
    first, ops = network
    result = first.ask(QUESTION, account="client")
    assert result.node == ops["a"].url
    assert result.receipt.node == ops["a"].address and result.saved.exists()
    assert (ops["c"].address, "serves no approved version of any model") in result.passed_over


def test_pinning_a_url_or_an_address_asks_that_node_only(network):
    first, ops = network
    by_url = first.ask(QUESTION, ops["c"].url, account="client")  # the positional URL of old
    assert by_url.node == ops["c"].url and by_url.receipt.node == ops["c"].address
    by_address = first.ask(QUESTION, node=ops["b"].address, account="client")
    assert by_address.receipt.node == ops["b"].address and by_address.passed_over == ()


def test_a_stopped_node_is_listed_down_and_the_client_fails_over(network):
    first, ops = network
    a, b = ops["a"], ops["b"]
    listed = first.nodes()  # while A is still up: the client's view goes stale below
    payer = first.payer("client")
    spent = {op.address: payer.spent(op.address) for op in (a, b)}
    b_receipts = b.live.service.receipts.count()
    a.stop()
    try:
        down = next(n for n in first.nodes() if n.address == a.address)
        assert not down.healthy and "health probe failed" in down.error
        # the rule passes over it now ...
        result = first.ask(QUESTION, account="client")
        assert result.node == b.url
        passed = dict(result.passed_over)
        assert "health probe failed" in passed[a.address]
        # ... and a client that listed the nodes before A stopped fails over to B
        answer = ask_in_turn(choose(listed).candidates, QUESTION, payer)
        assert answer.node.address == b.address
        assert [f.node.address for f in answer.failed] == [a.address]
        assert "cannot reach the node" in answer.failed[0].outcome
        # A was never paid; B was paid for exactly its two delivered answers
        assert payer.spent(a.address) == spent[a.address]
        assert payer._in_flight.get(a.address, 0) == 0 and payer._in_flight.get(b.address, 0) == 0
        assert b.live.service.receipts.count() == b_receipts + 2
        delivered = result.receipt.price + answer.result.receipt.price
        assert payer.spent(b.address) == spent[b.address] + delivered
    finally:
        a.start()
    assert next(n for n in first.nodes() if n.address == a.address).healthy


def test_when_every_candidate_fails_one_sentence_names_each(network):
    first, ops = network
    stale = [n for n in first.nodes() if n.address in (ops["a"].address, ops["b"].address)]
    ops["a"].stop()
    ops["b"].stop()
    try:
        with pytest.raises(NodeError) as caught:
            ask_in_turn(choose(stale).candidates, QUESTION, first.payer("client"))
        message = str(caught.value)
        assert message.startswith("no node answered (2 tried: ")
        assert ops["a"].address in message and ops["b"].address in message
        assert "\n" not in message
    finally:
        ops["a"].start()
        ops["b"].start()


def test_a_request_every_node_would_refuse_is_raised_not_retried(network):
    first, ops = network
    listed = choose(first.nodes()).candidates
    before = ops["b"].live.service.receipts.count()
    with pytest.raises(NodeError) as caught:
        ask_in_turn(listed, "x" * 20_000, first.payer("client"))  # over max_prompt_chars
    assert caught.value.status == 400
    assert ops["b"].live.service.receipts.count() == before


def test_a_node_whose_channel_this_client_never_funded_is_passed_over(network):
    first, ops = network
    a, b = ops["a"], ops["b"]
    fund_client(first, "half", [b.address])  # a channel to B only
    result = first.ask(QUESTION, account="half")
    assert result.node == b.url
    passed = dict(result.passed_over)
    assert "402" in passed[a.address] and "tessera deposit" in passed[a.address]
    assert all(r.client != first.address("half") for r in a.live.service.receipts.all())
    assert first.payer("half").spent(a.address) == 0

"""The rule that picks a node: candidates, their order, and pinning one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tessera import InputError, NotFoundError
from tessera._network.records import NetworkNode, ServedModel
from tessera._network.selection import choose, pin, typical_price, why_not

A, B, C = ("0x" + c * 40 for c in "abc")
TINY = ServedModel("tiny", "0x" + "11" * 32, approved=True)


def node(address=A, **changes) -> NetworkNode:
    fields = dict(
        address=address,
        endpoint=f"http://127.0.0.1:{8000 + int(address[2], 16)}",
        stake=10,
        active=True,
        eligible=True,
        models=(TINY,),
        input_price=1,
        output_price=10,
        default_max_tokens=48,
        healthy=True,
        latency_ms=5.0,
    )
    return NetworkNode(**{**fields, **changes})


def test_typical_price_uses_the_nodes_default_max_tokens():
    assert typical_price(node()) == 512 * 1 + 48 * 10
    assert typical_price(node(default_max_tokens=100)) == 512 + 1000
    assert typical_price(node(default_max_tokens=None)) == 512 + 480


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"active": False}, "not active"),
        ({"eligible": False, "stake": 3}, "stake 3 is below the minimum"),
        ({"models": (replace(TINY, approved=False),)}, "serves no approved version of any model"),
        ({"healthy": False, "error": "health probe failed (ConnectError)"}, "ConnectError"),
        ({"models": (), "error": "metadata hashes wrong"}, "metadata hashes wrong"),
    ],
)
def test_a_node_that_fails_one_condition_is_skipped_with_its_reason(changes, reason):
    bad = node(B, **changes)
    choice = choose([node(A), bad])
    assert [n.address for n in choice.candidates] == [A]
    assert [(n.address, reason in why) for n, why in choice.skipped] == [(B, True)]


def test_the_requested_model_must_be_served_and_approved():
    other = ServedModel("big", "0x" + "22" * 32, approved=True)
    nodes = [node(A), node(B, models=(other,)), node(C, models=(replace(other, approved=False),))]
    assert [n.address for n in choose(nodes, "big").candidates] == [B]
    assert why_not(nodes[2], "big") == "serves no approved version of model 'big'"
    assert [n.address for n in choose(nodes).candidates] == [A, B]


def test_candidates_are_ordered_by_price_then_latency_then_address():
    nodes = [
        node(A, output_price=11),  # dearest
        node(B, latency_ms=9.0),
        node(C, latency_ms=1.0),
        node("0x" + "d" * 40, latency_ms=1.0),
    ]
    assert [n.address for n in choose(nodes).candidates] == [C, "0x" + "d" * 40, B, A]


def test_pin_by_address_by_registered_url_and_by_unregistered_url():
    nodes = [node(A), node(B)]
    assert pin(nodes, B.upper().replace("0X", "0x")) is nodes[1]
    assert pin(nodes, nodes[0].endpoint + "/") is nodes[0]
    loose = pin(nodes, "http://10.0.0.9:1234")
    assert (loose.endpoint, loose.registered, loose.address) == ("http://10.0.0.9:1234", False, "")
    with pytest.raises(NotFoundError, match="is not a registered node"):
        pin(nodes, C)
    with pytest.raises(InputError, match="neither a node address"):
        pin(nodes, "node-7")

"""Which nodes a client asks, and in what order: one rule, a pure function of what it knows.

A node is a candidate when
  1. it is active (registered, not leaving),
  2. its stake is at least the minimum (the staking contract calls it eligible),
  3. it serves a version of the requested model that governance approved (any approved model
     when no model is asked for), and
  4. its health probe succeeded.
Candidates are ordered by the price of a typical request (input price * 512 + output price *
the node's own default max tokens, 48 when it names none), then by the probe's latency, then
by address, so two clients that know the same facts ask the same node first.

`pin` overrides the rule: an address is looked up among the registered nodes, a URL is used as
given, even one no registry lists, so a single node still works without a registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import is_hex_address, to_checksum_address

from tessera._errors import InputError, NotFoundError
from tessera._network.metadata import check_endpoint
from tessera._network.records import NetworkNode

TYPICAL_INPUT_TOKENS = 512
TYPICAL_OUTPUT_TOKENS = 48


@dataclass(frozen=True)
class Choice:
    candidates: tuple[NetworkNode, ...]  # in the order to ask them
    skipped: tuple[tuple[NetworkNode, str], ...]  # every other node, with why


def typical_price(node: NetworkNode) -> int:
    """What a typical request costs at this node, in the token's smallest unit."""
    out = node.default_max_tokens or TYPICAL_OUTPUT_TOKENS
    return node.input_price * TYPICAL_INPUT_TOKENS + node.output_price * out


def why_not(node: NetworkNode, model: str | None = None) -> str | None:
    """Why the rule passes over this node; None when it is a candidate."""
    if not node.active:
        return "not active (left or never registered)"
    if not node.eligible:
        return f"stake {node.stake} is below the minimum"
    if not node.models and node.error:
        return node.error
    if not node.serves(model):
        named = f"model {model!r}" if model else "any model"
        return f"serves no approved version of {named}"
    if not node.healthy:
        return node.error or "health probe failed"
    return None


def order_key(node: NetworkNode) -> tuple[int, float, str]:
    latency = node.latency_ms if node.latency_ms is not None else float("inf")
    return (typical_price(node), latency, node.address.lower())


def choose(nodes: Sequence[NetworkNode], model: str | None = None) -> Choice:
    """The candidates in the order to ask them, and every other node with its reason."""
    reasons = [(n, why_not(n, model)) for n in nodes]
    candidates = sorted((n for n, why in reasons if why is None), key=order_key)
    skipped = tuple((n, why) for n, why in reasons if why is not None)
    return Choice(tuple(candidates), skipped)


def pin(nodes: Sequence[NetworkNode], target: str) -> NetworkNode:
    """The one node `target` names: a registered address, or a URL (registered or not)."""
    if is_hex_address(target):
        address = to_checksum_address(target)
        found = [n for n in nodes if n.address.lower() == address.lower()]
        if not found:
            raise NotFoundError(
                f"{address} is not a registered node: pick one from `tessera nodes` or pass "
                "the node's URL with --node"
            )
        return found[0]
    if not target.startswith(("http://", "https://")):
        raise InputError(
            f"--node {target[:100]!r} is neither a node address (0x...) nor an http(s) URL: "
            "pass one of them"
        )
    url = check_endpoint(target).rstrip("/")
    for node in nodes:
        if node.endpoint.rstrip("/") == url:
            return node
    return unregistered(url)


def unregistered(url: str) -> NetworkNode:
    """A node known only by its URL: asked as given, vouching for nothing."""
    return NetworkNode(
        address="",
        endpoint=url,
        stake=0,
        active=False,
        eligible=False,
        models=(),
        input_price=0,
        output_price=0,
        default_max_tokens=None,
        healthy=False,
        latency_ms=None,
        registered=False,
    )

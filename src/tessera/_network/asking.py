"""Ask the network: pick the nodes by the rule (or the one pinned), then ask them in turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from eth_utils import is_hex_address

from tessera._client import AskResult
from tessera._errors import NodeError
from tessera._network.failover import DEFAULT_TIMEOUT_S, ask_in_turn
from tessera._network.records import NetworkNode
from tessera._network.selection import choose, pin
from tessera._payments.payer import Payer


def targets(
    list_nodes: Callable[[], list[NetworkNode]], node: str | None, model: str | None
) -> tuple[list[NetworkNode], list[tuple[NetworkNode, str]]]:
    """The nodes to ask, in order, and those the rule passed over with why. A pinned URL is
    asked as given without reading the registry, so one node works without one."""
    if node is not None and not is_hex_address(node):
        return [pin((), node)], []
    nodes = list_nodes()
    if node is not None:
        return [pin(nodes, node)], []
    choice = choose(nodes, model)
    if not choice.candidates:
        why = "; ".join(f"{n.address}: {reason}" for n, reason in choice.skipped)
        raise NodeError(
            f"no registered node can answer ({why or 'none is registered'}): see "
            "`tessera nodes`, or pass --node URL to ask one directly",
            status=503,
        )
    return list(choice.candidates), list(choice.skipped)


def ask_network(
    list_nodes: Callable[[], list[NetworkNode]],
    payer: Payer | None,
    question: str,
    node: str | None = None,
    model: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> AskResult:
    """The answer of the first node that delivers; the result names it and every node that
    was passed over (by the rule, or because it failed when asked) with why."""
    chosen, skipped = targets(list_nodes, node, model)
    answer = ask_in_turn(chosen, question, payer, model, timeout=timeout)
    passed_over = [(n.address or n.endpoint, why) for n, why in skipped] + [
        (a.node.address or a.node.endpoint, a.outcome) for a in answer.failed
    ]
    return replace(answer.result, node=answer.node.endpoint, passed_over=tuple(passed_over))

"""Ask the chosen nodes in turn until one answers, paying only the one that delivered.

Each node is asked at most once, with its own voucher on its own channel, so no node ever
holds two vouchers for one request. An attempt that does not deliver ends in
`Payer.settle(node, up_to, None)` (NodeClient does it on every path), so the client owes that
node nothing for it; the node, for its part, saves no delivered receipt for an answer it could
not hand over, and redeems only delivered receipts. The one receipt returned is the delivered
one.

We move on after a refused or dropped connection, a timeout, a 5xx, a body that is not a
Tessera answer, or a 402 saying this client has not funded that node's channel. Any other 4xx
means the request itself is wrong: it is raised, since every node would refuse it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tessera._client import AskResult, NodeClient
from tessera._errors import NodeError
from tessera._network.records import NetworkNode
from tessera._payments.payer import Payer

DEFAULT_TIMEOUT_S = 600.0
# 402 codes that mean "this channel holds too little", not "this voucher is malformed"
UNFUNDED_CODES = frozenset({"insufficient_escrow"})


@dataclass(frozen=True)
class Attempt:
    node: NetworkNode
    outcome: str  # what happened, in a few words


@dataclass(frozen=True)
class NetworkAnswer:
    result: AskResult
    node: NetworkNode  # the node that answered
    failed: tuple[Attempt, ...]  # the nodes asked before it, in order


def worth_another_node(error: NodeError) -> bool:
    """A failure of this node (down, slow, broken, unfunded here), not of the request."""
    if error.status == 0 or error.status >= 500:
        return True
    return error.status == 402 and error.code in UNFUNDED_CODES


def ask_in_turn(
    nodes: Sequence[NetworkNode],
    question: str,
    payer: Payer | None,
    model: str | None = None,
    max_tokens: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> NetworkAnswer:
    """The first answer from `nodes`, asked in order; NodeError naming each when none does."""
    if not nodes:
        raise NodeError(
            "no node to ask: none is registered that fits (see `tessera nodes`); pass "
            "--node URL to ask one directly",
            status=503,
        )
    failed: list[Attempt] = []
    last: NodeError | None = None
    for node in nodes:
        client = NodeClient(node.endpoint, timeout=timeout, payer=payer)
        try:
            return NetworkAnswer(client.ask(question, model, max_tokens), node, tuple(failed))
        except NodeError as error:
            if not worth_another_node(error):
                raise
            failed.append(Attempt(node, str(error)))
            last = error
        finally:
            client.close()
    raise _none_answered(failed, last)


def _none_answered(failed: list[Attempt], last: NodeError | None) -> NodeError:
    tried = "; ".join(f"{a.node.address or a.node.endpoint}: {a.outcome}" for a in failed)
    if len(failed) == 1 and last is not None:  # a pinned node: keep what it said
        return NodeError(last.args[0], last.status, last.code, last.param, last.details)
    return NodeError(
        f"no node answered ({len(failed)} tried: {tried}); see `tessera nodes` for the "
        "network's state",
        status=503,
    )

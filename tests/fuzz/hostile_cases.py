"""Hand-written hostile requests for the node, as data, and the one way each is judged.

A case says what to send (method, path, the body as raw bytes, headers; for what httpx cannot
send, a lying Content-Length or a chunked body written on a socket) and what the node must
answer: the status and OpenAI error code. `hostile_cases(genuine, client, registry)` builds
them all; the voucher cases are forged from `genuine`, a real voucher that `client` signed for
the node, the authorization cases from `client`'s authorization of one request on the
deployment whose registry is `registry`. Every other request carries a genuine authorization.

`run_case` sends one case to a live node and lists what went wrong: the status or code, an
error body not in OpenAI's format, a receipt saved for a refused request, retrieval or
generation run before a refusal, or a node that no longer answers /health.
Used by tests/fuzz/test_hostile.py and bench/hostile.py.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hostile_authorizations import authorization_cases
from hostile_case import CHAT, COMPLETIONS, ENDPOINTS, HEALTH, MODELS, QUESTION, HostileCase, user
from hostile_http import chat_cases, completion_cases, listing_cases
from hostile_runner import budget_voucher, receipt_total, run_case, start_paying_node
from hostile_vouchers import voucher_cases
from money_helpers import TSR

from tessera._crypto.voucher import Voucher

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "ENDPOINTS",
    "HEALTH",
    "MODELS",
    "QUESTION",
    "HostileCase",
    "budget_voucher",
    "hostile_cases",
    "receipt_total",
    "run_case",
    "stand_in_cases",
    "start_paying_node",
    "user",
]


def hostile_cases(genuine: Voucher, client: LocalAccount, registry: str) -> list[HostileCase]:
    return [
        *chat_cases(),
        *completion_cases(),
        *listing_cases(),
        *voucher_cases(genuine, client, registry),
        *authorization_cases(genuine, client, registry),
    ]


def stand_in_cases() -> list[HostileCase]:
    """The same cases forged from a stand-in voucher: their ids, before any node exists."""
    client, node = Account.from_key(b"\x01" * 32), Account.from_key(b"\x02" * 32)
    settlement, registry = (Account.from_key(bytes([k]) * 32).address for k in (3, 4))
    genuine = Voucher(client.address, node.address, 10 * TSR, 31337, settlement)
    return hostile_cases(genuine.signed_by(client), client, registry)

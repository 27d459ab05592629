"""Ask with a key held elsewhere (a browser wallet): the typed data it signs for one node, then
the request sent with those signatures once the node's own rules accept them.

The typed data is what `Tessera.ask` signs with a local key (the request's authorization with
a fresh nonce, the voucher for the channel's cumulative amount with this request), in the form
`eth_signTypedData_v4` takes. Only the first node the rule picks is asked: each node needs its
own voucher, so failing over would mean signing again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any

from tessera._client import AskResult, NodeClient, Quote, request_hash
from tessera._crypto.authorization import (
    ClientAuthorization,
    check_authorization,
    fresh_nonce,
    request_typed_data,
)
from tessera._crypto.eip712 import wallet_form
from tessera._crypto.voucher import Voucher
from tessera._errors import InputError, NodeError
from tessera._network.asking import targets
from tessera._network.failover import DEFAULT_TIMEOUT_S
from tessera._network.records import NetworkNode
from tessera._payments.payer import Payer


@dataclass(frozen=True)
class UnsignedAsk:
    """A paid question to one node, for its client to sign elsewhere: `typed_data()`, in order,
    then `Tessera.ask_signed` with the two signatures."""

    client: str
    endpoint: str  # the node's URL
    request: Quote  # the body sent, and the most it can cost
    voucher: Voucher  # unsigned: the channel's cumulative amount with this request
    nonce: int  # the authorization's
    registry: str  # the node domain's verifying contract

    @property
    def node(self) -> str:
        return self.voucher.node

    def typed_data(self) -> list[dict[str, Any]]:
        """[the request's authorization, the voucher], each for `eth_signTypedData_v4`."""
        return [wallet_form(self._request_typed_data()), self.voucher.wallet_typed_data()]

    def signed(self, signatures: Sequence[object]) -> tuple[ClientAuthorization, Voucher]:
        """The authorization and the voucher, checked as the node checks them: SignatureError
        unless the client signed exactly this request and this voucher."""
        if len(signatures) != 2 or not all(isinstance(s, str) for s in signatures):
            raise InputError(
                "give two signatures, as 0x-hex strings: the request's, then the voucher's "
                "(each typed data signed with eth_signTypedData_v4, in the order given)"
            )
        authorization = ClientAuthorization(self.nonce, str(signatures[0]))
        check_authorization(
            authorization,
            self.client,
            self.voucher.chain_id,
            self.registry,
            self.node,
            request_hash(self.request.payload),
        )
        voucher = replace(self.voucher, signature=str(signatures[1]))
        voucher.verify()
        return authorization, voucher

    def _request_typed_data(self) -> dict[str, Any]:
        hashed = request_hash(self.request.payload)
        return request_typed_data(
            self.voucher.chain_id, self.registry, self.node, hashed, self.nonce
        )


def prepare(
    list_nodes: Callable[[], list[NetworkNode]],
    payer: Payer,
    question: str,
    node: str | None = None,
    model: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> UnsignedAsk:
    """The first node the rule picks (or `node`, pinned), asked what the question costs."""
    chosen, _ = targets(list_nodes, node, model)
    endpoint = chosen[0].endpoint
    with closing(NodeClient(endpoint, timeout=timeout)) as client:
        request = client.quote(question, model)
    if request.node is None:
        raise NodeError(
            f"the node at {endpoint} charges nothing and signs no receipt, so there is nothing "
            "for a wallet to sign: ask a paid node (`tessera nodes`)",
            status=400,
        )
    voucher = payer.needed(request.node, request.up_to)
    return UnsignedAsk(payer.address, endpoint, request, voucher, fresh_nonce(), payer.registry)


def send(
    unsigned: UnsignedAsk,
    signatures: Sequence[object],
    payer: Payer,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> AskResult:
    """The node's answer to `unsigned` with the client's signatures, checked before anything
    is sent; a voucher the channel has outgrown since (another answer paid) is refused too."""
    authorization, voucher = unsigned.signed(signatures)
    needed = payer.reserve(unsigned.node, unsigned.request.up_to)
    if voucher.amount < needed.amount:
        payer.settle(unsigned.node, unsigned.request.up_to, None)
        raise InputError(
            f"the signed voucher covers {voucher.amount}, but this channel now needs "
            f"{needed.amount} (an answer was paid since it was prepared): ask again and sign "
            "the new typed data"
        )
    with closing(NodeClient(unsigned.endpoint, timeout=timeout, payer=payer)) as client:
        result = client.send(unsigned.request, voucher, authorization)
    return replace(result, node=unsigned.endpoint)

"""From a receipt found wrong to what `disputes.vy` takes: its leaf's preimage and proof, and
the challenge kind that names the fault."""

from __future__ import annotations

from eth_utils import keccak, to_bytes

from tessera._chain.disputes import (
    ANSWER,
    ATTRIBUTION,
    MODEL,
    PRICE,
    PROMPT,
    SIGNATURE,
    UNAUTHORIZED,
    ReceiptEvidence,
)
from tessera._crypto.receipt import Receipt
from tessera._payments.receipts_tree import ReceiptsTree

# a re-check finding's kind -> the challenge that proves it (objective ones need no committee)
KIND_OF_FINDING = {
    "signature": SIGNATURE,
    "model": MODEL,
    "authorization": UNAUTHORIZED,
    "answer": ANSWER,
    "attribution": ATTRIBUTION,
    "prompt": PROMPT,
    "price": PRICE,
}


def evidence_for(tree: ReceiptsTree, index: int, receipt: Receipt) -> ReceiptEvidence:
    """Receipt `index` of `tree` (with the payout state its leaf commits to) as evidence."""
    (
        request_hash,
        response_hash,
        model,
        model_digest,
        datanets_hash,
        attribution_hash,
        transcript_hash,
        authorization_hash,
        price,
        client,
        timestamp,
    ) = receipt.struct_fields()
    signature = to_bytes(hexstr=receipt.signature) if receipt.signature else b""
    return ReceiptEvidence(
        index=index,
        request_hash=request_hash,
        response_hash=response_hash,
        model=model,
        model_digest=model_digest,
        datanets_hash=datanets_hash,
        attribution_hash=attribution_hash,
        transcript_hash=transcript_hash,
        authorization_hash=authorization_hash,
        price=price,
        client=client,
        timestamp=timestamp,
        signature=signature,
        body_hash=keccak(receipt.body_bytes()),
        payout_root=tree.states[index].root,
        payout_total=tree.states[index].total,
        proof=tree.proof(index),
    )

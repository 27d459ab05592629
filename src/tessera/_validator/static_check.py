"""The checks that need no model: the node's signature, the client's authorization, the model's
approval, the credited documents, the price.

The receipt's hashes are recomputed from the preimages it carries (crypto/receipt.py), so a
preimage changed after signing shows as a signature that no longer recovers to the node. The
signature is checked under the deployment's domain, as disputes.vy recomputes the digest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tessera._crypto.authorization import check_authorization
from tessera._crypto.eip712 import recover_typed
from tessera._crypto.receipt import WEIGHT_SCALE, Receipt
from tessera._errors import ChainError, TesseraError
from tessera._validator.finding import Finding
from tessera._validator.terms import NodeTerms

# (model id, weights digest) -> whether governance approved it, even if revoked since
Approved = Callable[[str, str], bool]


def check_signature(receipt: Receipt, chain_id: int, verifying_contract: str) -> list[Finding]:
    """The receipt, under this deployment's domain, must recover to its node."""
    signed = replace(receipt, chain_id=chain_id, verifying_contract=verifying_contract)
    try:
        signer = recover_typed(signed.typed_data(), receipt.signature, "receipt")
    except TesseraError as exc:
        return [Finding("signature", f"the receipt's signature cannot be read: {exc}")]
    if signer.lower() != receipt.node.lower():
        return [
            Finding("signature", f"the receipt recovers to {signer}, not to node {receipt.node}")
        ]
    return []


def check_client(receipt: Receipt, chain_id: int, verifying_contract: str) -> list[Finding]:
    """A paid receipt needs the client's signature of its request for this node."""
    if receipt.price == 0:
        return []
    if receipt.authorization is None:
        return [Finding("authorization", "a paid receipt without the client's authorization")]
    try:
        check_authorization(
            receipt.authorization,
            receipt.client,
            chain_id,
            verifying_contract,
            receipt.node,
            receipt.request_hash,
        )
    except TesseraError as exc:
        return [Finding("authorization", str(exc))]
    return []


def check_model(receipt: Receipt, approved: Approved) -> list[Finding]:
    try:
        ok = approved(receipt.model, receipt.model_digest)
    except ChainError as exc:
        return [Finding("model", f"the model's approval could not be read: {exc}", True)]
    if ok:
        return []
    return [
        Finding(
            "model",
            f"governance never approved weights {receipt.model_digest} for {receipt.model}",
        )
    ]


def check_sources(receipt: Receipt) -> list[Finding]:
    """Credited documents are the prompt's, with positive weights summing to WEIGHT_SCALE."""
    strays = sorted({s.cid for s in receipt.attribution} - set(receipt.context))
    if strays:
        return [Finding("prompt", f"the receipt credits {strays}, which the prompt never held")]
    weights = [s.weight_ppm for s in receipt.attribution]
    if weights and (sum(weights) != WEIGHT_SCALE or min(weights) <= 0):
        return [
            Finding(
                "attribution",
                f"the weights are not positive and summing to {WEIGHT_SCALE}: {weights}",
            )
        ]
    return []


def check_price(receipt: Receipt, prompt_tokens: int, terms: NodeTerms) -> list[Finding]:
    answer_tokens = len(receipt.answer_tokens)
    want = prompt_tokens * terms.input_price + answer_tokens * terms.output_price
    if receipt.price == want:
        return []
    return [
        Finding(
            "price",
            f"the receipt charges {receipt.price} for {prompt_tokens} prompt and "
            f"{answer_tokens} answer tokens, which the node's prices make {want}",
        )
    ]

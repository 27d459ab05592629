"""A request in OpenAI's wire format becomes the service's `Question`, after every cheap check;
a paid one must carry its client's authorization, checked before any work is done for it.

The way back, an `Answer` as a body or as a stream's events, is wire.py's.
"""

from __future__ import annotations

from dataclasses import replace

from eth_utils import keccak

from tessera._crypto.authorization import NODE_DOMAIN_NAME, check_authorization
from tessera._crypto.receipt import canonical_json
from tessera._errors import NodeError, SignatureError
from tessera._node import request_checks as checks
from tessera._node import wire
from tessera._node.config import NodeConfig
from tessera._node.service import NodeService, Question


def from_chat(body: wire.ChatRequest, vouchers: list[str], config: NodeConfig) -> Question:
    """The question is the last user message; `vouchers`: every voucher header sent."""
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise NodeError(
            "messages hold no user message: add one with the question",
            status=400,
            code="empty_prompt",
            param="messages",
        )
    return _question(body, users[-1].text(), vouchers, config)


def from_completion(
    body: wire.CompletionRequest, vouchers: list[str], config: NodeConfig
) -> Question:
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise NodeError(
            f"send exactly one prompt per request, not {len(prompts)}",
            status=400,
            code="invalid_prompt",
            param="prompt",
        )
    return _question(body, prompts[0], vouchers, config)


def _question(
    body: wire.ChatRequest | wire.CompletionRequest,
    text: str,
    vouchers: list[str],
    config: NodeConfig,
) -> Question:
    """Check everything cheap about a request before any work is done for it."""
    kept = body.model_dump(mode="json", exclude_unset=True)  # what the receipt commits to
    checks.valid_unicode(kept)
    checks.prompt_size(text, body, config)
    wanted = getattr(body, "max_completion_tokens", None) or body.max_tokens
    max_tokens = min(wanted or config.default_max_tokens, config.max_tokens_limit)
    stops = checks.stop_strings(body.stop, config.max_stops)
    return Question(
        text,
        kept,
        max_tokens,
        tuple(dict.fromkeys([*config.stop, *stops])),
        voucher=checks.one_voucher(vouchers),
        ignore_eos=body.ignore_eos,
    )


def for_model(question: Question, model_id: str, service: NodeService) -> Question:
    """`question` for the model version its `model` names, checked before payment or work:
    404 `model_not_found` for a model this node does not serve."""
    return replace(question, model=service.served_version(model_id))


def authorized(question: Question, headers: list[str], service: NodeService) -> Question:
    """`question` with its client's authorization: the voucher's client signed this request's
    hash (the receipt's `request_hash`) for this node. A free node ignores the header."""
    gate = service.payments
    if gate is None:
        return question
    client = gate.voucher_client(question.voucher)  # a bad voucher keeps its own 402
    authorization = checks.one_authorization(headers)
    request_hash = keccak(canonical_json(question.request))
    domain = (service.chain_id, service.verifying_contract)
    try:
        check_authorization(authorization, client, *domain, gate.node, request_hash)
    except SignatureError as exc:
        raise checks.unauthorized(
            f"{exc}. Sign EIP-712 Request(node, requestHash, nonce) in the {NODE_DOMAIN_NAME!r} "
            f"domain of chain {domain[0]} (verifying contract {domain[1]}), node {gate.node}, "
            "requestHash the keccak256 of the body's canonical JSON (sorted keys, no spaces, "
            "only the fields the node keeps: the receipt's `request`)",
            details={"request_hash": "0x" + request_hash.hex(), "node": gate.node},
        ) from None
    if not gate.db.use_authorization(client, authorization.nonce):
        raise checks.unauthorized(
            f"this authorization (nonce {authorization.nonce}) was already used: each request "
            "is answered once per authorization; sign the request again with a fresh nonce",
            "authorization_replayed",
        )
    return replace(question, authorization=authorization)

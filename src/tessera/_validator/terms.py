"""What a node promised to charge and how it answers, and what a receipt's request asked.

A receipt carries its request as the node received it; the question, the stop strings and the
token budget follow from it as they do on the node (node/questions.py, which this mirrors: the
validator sits beside the node in the layers and cannot import it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera._errors import InputError


@dataclass(frozen=True)
class NodeTerms:
    """A node's advertised prices per token, and the serving rules its answers follow (the
    node's defaults, NodeConfig's, unless the node advertises others)."""

    input_price: int  # per prompt token, in the token's smallest unit
    output_price: int  # per answer token
    top_k: int = 3  # documents retrieved per question
    stop: tuple[str, ...] = ("\n",)  # the node's own stop strings, before the request's
    default_max_tokens: int = 48
    max_tokens_limit: int = 512


@dataclass(frozen=True)
class Asked:
    text: str  # what retrieval searched for and the prompt asked
    stop: tuple[str, ...]
    max_tokens: int
    ignore_eos: bool = False  # the request asked for all max_tokens (vLLM's ignore_eos)


def asked(request: dict[str, Any], terms: NodeTerms) -> Asked:
    """The question a receipt's request asked: a chat's last user message, or the one prompt.
    InputError if it asks none (a node refuses such a request, so never receipts it)."""
    try:
        max_tokens = request.get("max_completion_tokens") or request.get("max_tokens")
        stops = request.get("stop") or []
        stops = [stops] if isinstance(stops, str) else [str(s) for s in stops]
        return Asked(
            _question_text(request),
            tuple(dict.fromkeys([*terms.stop, *stops])),
            min(int(max_tokens or terms.default_max_tokens), terms.max_tokens_limit),
            request.get("ignore_eos") is True,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"the request is not one a node answers ({exc})") from None


def _question_text(request: dict[str, Any]) -> str:
    if "messages" in request:
        users = [m for m in request["messages"] if m.get("role") == "user"]
        if not users:
            raise InputError("the request holds no user message")
        content = users[-1].get("content")
        if isinstance(content, list):
            return "".join(part["text"] for part in content)
        return str(content or "")
    prompts = request.get("prompt")
    prompts = [prompts] if isinstance(prompts, str) else prompts
    if not isinstance(prompts, list) or len(prompts) != 1:
        raise InputError("the request holds no single prompt")
    return str(prompts[0])

"""The answer re-check: one teacher-forced pass over the prompt and the receipt's answer tokens
on the named weights, instead of generating the answer again (TOPLOC's observation: a
generation is validated by one pass).

Greedy decoding takes the most likely token at every step, so each answer token must be the
top logit given the prompt and the tokens before it. Rounding differs between machines, so a
token is a fault only where it trails the top logit by more than LOGIT_TOLERANCE; one that
trails by less is a near tie, inconclusive. The same pass predicts the token after the answer,
which must end it the way the engine ends answers (an end-of-sequence token, a stop string,
the token budget), and the answer's text must be its tokens as the engine decodes and cuts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tessera._inference import lora
from tessera._inference.engine import delivered_text, first_stop
from tessera._inference.lora import AdapterBank
from tessera._inference.packed import ColumnStore
from tessera._validator.finding import Finding
from tessera._validator.terms import Asked
from tessera._validator.tolerances import LOGIT_TOLERANCE

MAX_TIED = 8  # near-tied candidates for the token after the answer worth decoding


@dataclass(frozen=True)
class ForcedPass:
    logits: torch.Tensor  # (n + 1, vocab): the prediction of each answer token, then the next
    prompt_columns: ColumnStore  # the prompt's keys and values: what attribution probes read

    def logprobs(self, answer: Sequence[int]) -> list[float]:
        """log p of each answer token given everything before it."""
        steps = torch.log_softmax(self.logits[: len(answer)], -1)
        return [float(x) for x in steps[range(len(answer)), list(answer)]]

    def gaps(self, answer: Sequence[int]) -> torch.Tensor:
        """(n,) how far each answer token trails the top logit (0 where it is the top)."""
        logits = self.logits[: len(answer)]
        return logits.max(-1).values - logits[range(len(answer)), list(answer)]


@dataclass(frozen=True)
class Decoding:
    """What ends an answer on the node's engine, for the model the validator holds."""

    tokenizer: Any
    eos_ids: set[int]
    max_positions: int


@torch.inference_mode()
def teacher_forced(
    model: Any,
    prompt_ids: Sequence[int],
    answer: Sequence[int],
    adapter: tuple[AdapterBank, int] | None = None,
) -> ForcedPass:
    """One pass over prompt and answer; its cache of the prompt is kept as the engine keeps
    a prefilled prompt's, so the attribution probes need no second pass over the prompt.
    `adapter`: (the bank wrapping `model`, the slot of the adapter that answered)."""
    from transformers import DynamicCache

    ids = torch.tensor([[*prompt_ids, *answer]])  # (1, prompt + n)
    cache: Any = DynamicCache()  # no config: every layer keeps all its columns, windowed or not
    plan = adapter[0].plan([(ids.shape[1], adapter[1])]) if adapter is not None else None
    token = lora.active(plan)  # every row on the adapter's slot; None: the base alone
    try:
        out = model(input_ids=ids, logits_to_keep=len(answer) + 1, past_key_values=cache)
    finally:
        lora.reset(token)
    n = len(prompt_ids)
    columns = ColumnStore(
        [layer.keys[:, :, :n] for layer in cache.layers],  # (1, kv_heads, n, dim)
        [layer.values[:, :, :n] for layer in cache.layers],
        torch.zeros(n, dtype=torch.long),  # one request
        torch.arange(n),
    )
    return ForcedPass(out.logits[0].float(), columns)


def check_answer(
    forced: ForcedPass,
    decoding: Decoding,
    prompt_len: int,
    answer: Sequence[int],
    response_text: str,
    question: Asked,
) -> list[Finding]:
    found = _check_tokens(forced, answer)
    if any(not f.inconclusive for f in found):
        return found
    return found + _check_ending(forced, decoding, prompt_len, answer, response_text, question)


def _check_tokens(forced: ForcedPass, answer: Sequence[int]) -> list[Finding]:
    if not answer:
        return []
    gaps = forced.gaps(answer)
    over = torch.nonzero(gaps > LOGIT_TOLERANCE).flatten()
    if over.numel():
        j = int(over[0])
        greedy = int(forced.logits[j].argmax())
        return [
            Finding(
                "answer",
                f"answer token {j} ({answer[j]}) trails the greedy choice ({greedy}) by "
                f"{float(gaps[j]):.4g} logits, over the tolerance of {LOGIT_TOLERANCE}: "
                "the named weights did not generate this answer",
            )
        ]
    tied = int((gaps > 0).sum())
    if tied:
        return [
            Finding(
                "answer",
                f"{tied} answer token(s) are not the greedy choice but within "
                f"{LOGIT_TOLERANCE} logits of it (near ties)",
                inconclusive=True,
            )
        ]
    return []


def _check_ending(
    forced: ForcedPass,
    decoding: Decoding,
    prompt_len: int,
    answer: Sequence[int],
    response_text: str,
    question: Asked,
) -> list[Finding]:
    text = delivered_text(decoding.tokenizer, list(answer))
    if first_stop(text, question.stop) >= 0:
        return [Finding("answer", "the answer runs on past a stop string the engine cuts at")]
    if len(answer) > question.max_tokens:
        return [
            Finding(
                "answer",
                f"the answer has {len(answer)} tokens, over the request's {question.max_tokens}",
            )
        ]
    out_of_room = prompt_len + len(answer) >= decoding.max_positions
    if len(answer) == question.max_tokens or out_of_room:
        if response_text == text:
            return []
        return [_changed(response_text, text)]
    endings = [_ending(decoding, answer, t, question) for t in _candidates(forced, answer)]
    if endings[0] == response_text:
        return []
    if response_text in endings[1:]:
        return [
            Finding(
                "answer",
                "the token after the answer is a near tie that ends it as the receipt says",
                inconclusive=True,
            )
        ]
    if endings[0] is None:
        return [
            Finding(
                "answer",
                "greedy decoding goes on where the answer stops: it was cut short "
                "(no end-of-sequence token, stop string or token budget ends it there)",
            )
        ]
    return [_changed(response_text, endings[0])]


def _candidates(forced: ForcedPass, answer: Sequence[int]) -> list[int]:
    """The greedy next token first, then any within the tolerance of it."""
    following = forced.logits[len(answer)]
    top = torch.topk(following, MAX_TIED)
    close = top.values >= top.values[0] - LOGIT_TOLERANCE
    return [int(t) for t in top.indices[close]]


def _ending(decoding: Decoding, answer: Sequence[int], token: int, question: Asked) -> str | None:
    """The text the engine delivers if `token` follows the answer; None if it goes on."""
    if token in decoding.eos_ids and not question.ignore_eos:
        return delivered_text(decoding.tokenizer, list(answer))
    longer = delivered_text(decoding.tokenizer, [*answer, token])
    cut = first_stop(longer, question.stop)
    return longer[:cut] if cut >= 0 else None


def _changed(response_text: str, expected: str) -> Finding:
    return Finding(
        "answer",
        f"the answer's text {response_text[:80]!r} is not its tokens as the engine delivers "
        f"them ({expected[:80]!r}): it was changed after generation",
    )

"""Masked-document ablation, the method the node pays by: hide each document in turn, and
every document at once, and measure what the answer loses.

Each probe feeds the question and the answer again after the documents' cached keys and
values, with one document (or all of them) masked out; the answer's log-probabilities while
decoding are the full-context side. A document's effect is the log-likelihood, in nats, that
hiding it costs the answer, token by token, capped by what the documents together gave that
token. Documents whose effect clears `min_effect` share the weight in proportion to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.weights import DEFAULT_MIN_EFFECT, weights_from_effects


class MaskedAblation(Attributor):
    def __init__(self, min_effect: float = DEFAULT_MIN_EFFECT, cap_by_context: bool = True):
        self.min_effect = min_effect
        self.cap_by_context = cap_by_context

    @property
    def name(self) -> str:
        return f"masked-ablation(min_effect={self.min_effect!r},cap={self.cap_by_context})"

    def probes(self, answered: Answered) -> list[Probe]:
        """One probe per hidden document, then one with every document hidden: the question
        and the answer again, reading the documents' cached keys and values."""
        answer = answered.answer_ids
        # the last answer token predicts nothing needed
        tokens = [*answered.suffix_ids, *answer[:-1]]
        spans = answered.doc_spans
        return [
            Probe(tokens, answered.prefix_len, hidden, answer)
            for hidden in [*((span,) for span in spans), spans]
        ]

    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        full = torch.tensor(answered.answer_logprobs)  # (n,)
        per_token = torch.tensor(scored)  # (documents + 1, n): each hidden, then all hidden
        return document_effects(full, per_token[:-1], per_token[-1], self.cap_by_context)

    def weights(self, effects: Sequence[float]) -> list[float]:
        return weights_from_effects(effects, self.min_effect)

    def gain(self, answered: Answered, scored: Sequence[Sequence[float]]) -> float:
        """What the documents together gave the answer: the all-hidden probe's loss, per
        token, never below 0."""
        full = torch.tensor(answered.answer_logprobs)
        return float((full - torch.tensor(scored[-1])).clamp(min=0).sum())


def document_effects(
    full: torch.Tensor, hidden: torch.Tensor, none: torch.Tensor, cap_by_context: bool = True
) -> list[float]:
    """What the answer owed to each document, in nats.

    full (n,): log p of each answer token with every document; hidden (k, n): with document i
    hidden; none (n,): with every document hidden. For document i and token t,
    d(i, t) = full(t) - hidden(i, t): how much hiding document i costs that token. With
    `cap_by_context` a token can credit a document with at most what the documents together
    gave it, c(t) = full(t) - none(t), and never less than 0: a restatement of the question
    ("The Mirmo Mill is known for...") owes the documents nothing, whichever one primed its
    wording, while the fact that follows owes them everything. effect(i) = sum over t of
    min(max(d(i, t), 0), max(c(t), 0)); without the cap, the plain sum of d(i, t).
    """
    drop = full.unsqueeze(0) - hidden  # (k, n)
    if cap_by_context:
        context = (full - none).clamp(min=0)  # (n,)
        drop = torch.minimum(drop.clamp(min=0), context.unsqueeze(0))
    return [float(x) for x in drop.sum(-1)]

"""Any attributor's probes scored from scratch: the reference the engine's cached path is
checked against.

Each probe becomes one plain forward pass over the prompt's tokens below its start and then
its own tokens, with its hidden spans masked from every later token, so documents after a
hidden one are read again without it (the engine's cached path reuses them as they were).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tessera._attribution.base import Answered, Attributor, Probe, Span
from tessera._models.generator import target_logprobs


@torch.inference_mode()
def effects_from_scratch(
    model: Any,
    attributor: Attributor,
    prompt_ids: Sequence[int],
    prefix_len: int,
    doc_spans: tuple[Span, ...],
    answer: Sequence[int],
) -> tuple[list[float], float]:
    """What `attributor` finds the answer owed to each document, with every pass recomputed,
    and log p(answer | all documents), also recomputed."""
    if not answer:
        return [0.0] * len(doc_spans), 0.0
    everything = Probe([*prompt_ids[prefix_len:], *answer[:-1]], prefix_len, (), answer)
    [full] = score_from_scratch(model, prompt_ids, [everything])
    answered = Answered(prompt_ids, prefix_len, doc_spans, answer, full)
    scored = score_from_scratch(model, prompt_ids, attributor.probes(answered))
    return attributor.effects(answered, scored), float(torch.tensor(full).sum())


@torch.inference_mode()
def score_from_scratch(
    model: Any, prompt_ids: Sequence[int], probes: list[Probe]
) -> list[list[float]]:
    """Per probe, log p of each target; probes of one length and one target share a pass."""
    out: list[list[float]] = [[] for _ in probes]
    batches: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for i, p in enumerate(probes):
        batches.setdefault((p.start + len(p.tokens), tuple(p.targets)), []).append(i)
    for (_, targets), members in batches.items():
        rows = [[*prompt_ids[: probes[i].start], *probes[i].tokens] for i in members]
        mask = torch.ones(len(rows), len(rows[0]), dtype=torch.long)
        for row, i in enumerate(members):
            for a, b in probes[i].hidden:
                mask[row, a:b] = 0
        n = len(targets)
        logits = model(  # no packing plan is active: plain attention
            input_ids=torch.tensor(rows),
            attention_mask=mask,
            logits_to_keep=n,
            use_cache=False,
        ).logits.float()  # (rows, n, vocab)
        per_token = target_logprobs(logits, list(targets))  # (rows, n)
        for row, i in enumerate(members):
            out[i] = [float(x) for x in per_token[row]]
    return out

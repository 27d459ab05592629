"""Cross entropy over a huge frozen output layer, a chunk of positions at a time.

    loss = chunked_cross_entropy(hidden, lm_head.weight, targets)  # hidden (n, h), targets (n,)

Gemma's output layer has 262k rows: the logits of a 256-token step are 268 MB in float32, and
autograd would keep them (and their softmax) for the backward pass. Here the logits of at most
`chunk` positions exist at once, and the gradient with respect to the hidden states is computed
in the same pass ((softmax - one_hot) @ W), so nothing of the vocabulary's size is kept. The
output layer is frozen (LoRA does not adapt it), so no gradient for W is needed.
"""

from __future__ import annotations

from typing import Any

import torch

CHUNK = 512


class _ChunkedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,  # (n, h)
        weight: torch.Tensor,  # (vocab, h), frozen
        targets: torch.Tensor,  # (n,)
        softcap: float | None,
        chunk: int,
    ) -> torch.Tensor:
        n = hidden.shape[0]
        total = torch.zeros((), dtype=torch.float32)
        grad = torch.empty_like(hidden)
        for start in range(0, n, chunk):
            h, t = hidden[start : start + chunk], targets[start : start + chunk]
            loss, grad_h = _chunk(h, weight, t, softcap)
            total += loss
            grad[start : start + chunk] = grad_h
        ctx.save_for_backward(grad / n)
        return total / n

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> Any:
        (grad,) = ctx.saved_tensors
        return grad * grad_output.to(grad.dtype), None, None, None, None


def _chunk(
    h: torch.Tensor, weight: torch.Tensor, t: torch.Tensor, softcap: float | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss and d(summed loss)/dh of one chunk."""
    logits = (h @ weight.T).float()  # (c, vocab)
    capped = None
    if softcap:
        capped = torch.tanh(logits / softcap)
        logits = capped * softcap
    lse = torch.logsumexp(logits, dim=-1)  # (c,)
    rows = torch.arange(len(t))
    loss = (lse - logits[rows, t]).sum()
    # the softmax, written over the logits: the same values as exp(logits - lse) without two
    # fresh vocabulary-sized buffers per chunk (each a page-faulting allocation)
    probs = logits.sub_(lse[:, None]).exp_()  # (c, vocab)
    probs[rows, t] -= 1.0
    if capped is not None:
        probs *= 1.0 - capped * capped
    grad_h = probs @ weight  # (c, h); in bfloat16 under autocast, like the forward matmul
    return loss, grad_h.to(h.dtype)


def chunked_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    softcap: float | None = None,
    chunk: int = CHUNK,
) -> torch.Tensor:
    """Mean cross entropy of `targets` (n,) under logits hidden @ weight.T, never all at once."""
    return _ChunkedCrossEntropy.apply(hidden, weight, targets, softcap, chunk)

"""One forward pass over every token the engine needs in a step, from every request at once.

The engine packs all its work into one sequence of *streams*: a prompt being prefilled, the one
new token of each decoding request, and the question-and-answer tokens of each attribution
ablation. Every token carries its own position. A stream sees its own earlier tokens and the
cached keys and values of its request; an ablation stream sees only the cached document prefix,
minus the documents it hides. One pass reads the weights once and gives every matrix product
hundreds of rows, which is what batching buys on a CPU, where prefill and attribution are
compute-bound (bench/serve.py measures it).

Attention runs per request (a group of streams and the columns they may read), through an
attention function registered with transformers, so packing wastes no work on pairs of tokens
that can never see each other. Without an active plan the function is plain SDPA: other users
of the same model object are unaffected.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from tessera._errors import ModelError
from tessera._inference import lora
from tessera._inference.lora import AdapterBank

ATTENTION = "tessera_packed"
LOGIT_ROWS = 128  # output-layer rows per product: fast, and the logits stay small in memory
_ACTIVE: contextvars.ContextVar[_Plan | None] = contextvars.ContextVar("plan", default=None)


@dataclass(frozen=True)
class Stream:
    """Tokens that continue one request's cached columns.

    keep: its keys and values join the request's cache (prefill, decode); else they are
    dropped after the pass (ablations). sees_below: only cached positions below it are
    visible (None: all), minus the ranges in `hidden`. targets: score these tokens at the
    last len(targets) positions; None: pick the most likely next token at the last one.
    """

    request: int
    tokens: Sequence[int]
    start: int  # position of the first token
    keep: bool = True
    sees_below: int | None = None
    hidden: tuple[tuple[int, int], ...] = ()
    targets: Sequence[int] | None = None
    adapter: int | None = None  # the AdapterBank slot whose delta its rows get; None: base

    @property
    def scored(self) -> int:
        return len(self.targets) if self.targets is not None else 1


@dataclass
class ColumnStore:
    """The cached keys and values of every live request, one column per token, each column
    tagged with its request and position. Columns of one request are kept together."""

    keys: list[torch.Tensor] = field(default_factory=list)  # per layer (1, kv_heads, C, dim)
    values: list[torch.Tensor] = field(default_factory=list)
    owner: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    pos: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    def __len__(self) -> int:
        return int(self.owner.numel())

    def drop(self, requests: set[int]) -> None:
        if not requests or not len(self):
            return
        gone = torch.tensor(sorted(requests))
        self._select(torch.nonzero(~torch.isin(self.owner, gone)).flatten())

    def clear(self) -> None:
        self.keys, self.values = [], []
        self.owner = self.pos = torch.zeros(0, dtype=torch.long)

    def _select(self, index: torch.Tensor) -> None:
        self.keys = [k.index_select(2, index) for k in self.keys]
        self.values = [v.index_select(2, index) for v in self.values]
        self.owner, self.pos = self.owner[index], self.pos[index]


@dataclass
class _Group:
    """The rows of one request's streams and the columns they read: `old` columns of the
    store, then the group's own new rows."""

    rows: slice
    old: torch.Tensor  # (K_old,) store column indices
    cols: torch.Tensor  # (K_old + R,) indices into the pass's keys (store, then new)
    q_pos: torch.Tensor  # (R,)
    k_pos: torch.Tensor  # (K,)
    base: torch.Tensor  # (R, K) visibility before any sliding window
    windowed: dict[int, torch.Tensor] = field(default_factory=dict)

    def mask(self, window: int | None) -> torch.Tensor:
        if window is None:
            return self.base
        if window not in self.windowed:
            near = (self.q_pos[:, None] - self.k_pos[None, :]) < window
            self.windowed[window] = self.base & near
        return self.windowed[window]


@dataclass
class _Plan:
    groups: list[_Group]


def _group(store: ColumnStore, request: int, streams: list[Stream], first_row: int) -> _Group:
    old = torch.nonzero(store.owner == request).flatten()
    old_pos = store.pos[old]
    q_pos = torch.cat([torch.arange(s.start, s.start + len(s.tokens)) for s in streams])
    q_stream = torch.cat([torch.full((len(s.tokens),), i) for i, s in enumerate(streams)])
    # cached columns: below each stream's cut, not hidden from it
    sees_old = torch.ones(len(streams), old.numel(), dtype=torch.bool)
    for i, s in enumerate(streams):
        if s.sees_below is not None:
            sees_old[i] &= old_pos < s.sees_below
        for a, b in s.hidden:
            sees_old[i] &= ~((old_pos >= a) & (old_pos < b))
    vis_old = sees_old[q_stream]  # (R, K_old)
    # new columns: the same stream, causally
    vis_new = (q_stream[:, None] == q_stream[None, :]) & (q_pos[None, :] <= q_pos[:, None])
    rows = slice(first_row, first_row + int(q_pos.numel()))
    new_cols = torch.arange(rows.start, rows.stop) + len(store)
    return _Group(
        rows,
        old,
        torch.cat([old, new_cols]),
        q_pos,
        torch.cat([old_pos, q_pos]),
        torch.cat([vis_old, vis_new], 1),
    )


def packed_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    sliding_window: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention over a packed step, request by request; plain SDPA outside the engine."""
    plan = _ACTIVE.get()
    if plan is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            scaling=scaling,
            dropout=dropout,
            sliding_window=sliding_window,
            **kwargs,
        )
    if kwargs.get("softcap") is not None:
        raise ModelError("attention logit soft-capping is not supported by the packed engine")
    # query (1, heads, T, dim); key/value (1, kv_heads, C + T, dim)
    out = query.new_empty(query.shape[0], query.shape[2], query.shape[1], query.shape[3])
    gqa = query.shape[1] != key.shape[1]
    for group in plan.groups:
        attended = F.scaled_dot_product_attention(
            query[:, :, group.rows],
            key.index_select(2, group.cols),
            value.index_select(2, group.cols),
            attn_mask=group.mask(sliding_window),
            scale=scaling,
            enable_gqa=gqa,
        )  # (1, heads, R, dim)
        out[:, group.rows] = attended.transpose(1, 2)
    return out, None


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, packed_attention)
    # outside a packed step the model builds its masks as it would for SDPA
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)


@functools.cache
def _step_cache_class() -> type:
    from transformers import DynamicCache

    class StepCache(DynamicCache):
        """Hands each layer the store's columns followed by the pass's new ones, and keeps
        that concatenation so the engine can select what it needs without another copy."""

        def __init__(self, store: ColumnStore) -> None:
            super().__init__()
            self.store = store
            self.full: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def update(
            self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, *_: Any
        ) -> tuple[torch.Tensor, torch.Tensor]:
            store = self.store
            if store.keys:
                key_states = torch.cat([store.keys[layer_idx], key_states], -2)
                value_states = torch.cat([store.values[layer_idx], value_states], -2)
            self.full[layer_idx] = (key_states, value_states)
            return key_states, value_states

        def get_seq_length(self, layer_idx: int = 0) -> int:
            return len(self.store)

    return StepCache


def _adapter_order(stream: Stream) -> tuple[int, int]:
    return (-1 if stream.adapter is None else stream.adapter, stream.request)


class PackedModel:
    """Runs packed steps of a causal language model over a ColumnStore."""

    def __init__(self, model: Any, bank: AdapterBank | None = None) -> None:
        _register()
        self.bank = bank
        model.set_attn_implementation(ATTENTION)
        if model.config._attn_implementation != ATTENTION:
            raise ModelError(
                f"{type(model).__name__} does not take a custom attention function: the engine "
                "cannot batch it (use a model that transformers runs through AttentionInterface)"
            )
        self.model = model
        self.body = model.get_decoder()
        self.head = model.get_output_embeddings()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)

    @torch.inference_mode()
    def step(
        self, store: ColumnStore, streams: list[Stream]
    ) -> list[tuple[list[int], list[float]]]:
        """Run `streams` (grouped by request, in any order of requests) in one pass.

        Returns per stream (tokens, log p): its targets and their log-probabilities, or the
        most likely next token and its log-probability. Keeps the new columns of `keep`
        streams in `store`, each request's columns together.
        """
        # by adapter, then request: an adapter's rows are runs, a request's rows one group
        order = sorted(range(len(streams)), key=lambda i: _adapter_order(streams[i]))
        ordered = [streams[i] for i in order]
        groups, row = [], 0
        by_request: dict[int, list[Stream]] = {}
        for s in ordered:
            by_request.setdefault(s.request, []).append(s)
        for request, members in by_request.items():
            groups.append(_group(store, request, members, row))
            row = groups[-1].rows.stop
        ids = torch.tensor([[t for s in ordered for t in s.tokens]])
        positions = torch.cat([g.q_pos for g in groups]).unsqueeze(0)
        total = ids.shape[1]
        placeholder = torch.ones((), dtype=torch.bool).expand(1, 1, total, len(store) + total)
        cache = _step_cache_class()(store)
        token = _ACTIVE.set(_Plan(groups))
        adapters = lora.active(self._lora_plan(ordered))
        try:
            hidden = self.body(
                input_ids=ids,
                position_ids=positions,
                attention_mask=placeholder,  # a 4D mask skips mask building; the plan decides
                past_key_values=cache,
                use_cache=True,
            ).last_hidden_state[0]  # (T, hidden)
        finally:
            lora.reset(adapters)
            _ACTIVE.reset(token)
        results = self._score(hidden, ordered)
        self._keep(store, cache, groups, by_request)
        out: list[tuple[list[int], list[float]]] = [([], [])] * len(streams)
        for i, result in zip(order, results, strict=True):
            out[i] = result
        return out

    def _lora_plan(self, ordered: list[Stream]) -> lora.LoraPlan | None:
        if self.bank is None:
            if any(s.adapter is not None for s in ordered):
                raise ModelError("a stream asks for an adapter, and this model has no bank")
            return None
        runs: list[tuple[int, int | None]] = []
        for s in ordered:
            if runs and runs[-1][1] == s.adapter:
                runs[-1] = (runs[-1][0] + len(s.tokens), s.adapter)
            else:
                runs.append((len(s.tokens), s.adapter))
        return self.bank.plan(runs)

    def _score(
        self, hidden: torch.Tensor, streams: list[Stream]
    ) -> list[tuple[list[int], list[float]]]:
        rows: list[int] = []
        targets: list[int] = []
        end = 0
        for s in streams:
            end += len(s.tokens)
            rows.extend(range(end - s.scored, end))
            targets.extend(s.targets if s.targets is not None else [-1])
        picked = hidden[torch.tensor(rows)]
        wanted = torch.tensor(targets)
        tokens, logprobs = [], []
        for a in range(0, len(rows), LOGIT_ROWS):
            logits = self.head(picked[a : a + LOGIT_ROWS]).float()
            if self.softcap:
                logits = torch.tanh(logits / self.softcap) * self.softcap
            want = wanted[a : a + LOGIT_ROWS]
            chosen = torch.where(want < 0, logits.argmax(-1), want)
            logp = torch.log_softmax(logits, -1).gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
            tokens.append(chosen)
            logprobs.append(logp)
        all_tokens, all_logp = torch.cat(tokens).tolist(), torch.cat(logprobs).tolist()
        results, at = [], 0
        for s in streams:
            results.append((all_tokens[at : at + s.scored], all_logp[at : at + s.scored]))
            at += s.scored
        return results

    def _keep(
        self,
        store: ColumnStore,
        cache: Any,
        groups: list[_Group],
        by_request: dict[int, list[Stream]],
    ) -> None:
        """The new store: untouched requests, then per request its old columns and the new
        columns of its `keep` streams."""
        parts = [torch.nonzero(~torch.isin(store.owner, torch.tensor(list(by_request)))).flatten()]
        new_owner = []
        for group, (request, members) in zip(groups, by_request.items(), strict=True):
            parts.append(group.old)
            at = group.rows.start
            for s in members:
                if s.keep:
                    parts.append(torch.arange(at, at + len(s.tokens)) + len(store))
                at += len(s.tokens)
            new_owner.append(torch.full((group.q_pos.numel(),), request))
        select = torch.cat(parts)
        layers = sorted(cache.full)
        store.keys = [cache.full[n][0].index_select(2, select) for n in layers]
        store.values = [cache.full[n][1].index_select(2, select) for n in layers]
        owner = torch.cat([store.owner, *new_owner])
        pos = torch.cat([store.pos, *(g.q_pos for g in groups)])
        store.owner, store.pos = owner[select], pos[select]

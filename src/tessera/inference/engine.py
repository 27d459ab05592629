"""The engine: one thread that owns the model, batches waiting requests, decodes greedily,
streams text as it comes, and measures each answer's dependence on each document.

Why one thread: torch already uses every core inside one forward pass, and a single owner of
the model keeps greedy decoding deterministic and the batching simple. Requests that arrive
while a batch runs form the next batch (static batching).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import torch

from tessera.inference.kv import PrefixKV, repeated_cache, slice_prefix
from tessera.inference.prompt import Prompt

TokenCallback = Callable[[str], None]


@dataclass
class Job:
    prompt: Prompt
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ("\n",)
    attribute: bool = True
    on_text: TokenCallback | None = None  # called on the engine thread with each new piece
    cancelled: threading.Event = field(default_factory=threading.Event)
    future: Future[Completion] = field(default_factory=Future)


@dataclass(frozen=True)
class Completion:
    text: str
    answer_ids: list[int]
    finish_reason: str  # "stop", "length" or "cancelled"
    prompt_tokens: int
    effects: list[float] | None  # per document: log p(answer) lost when it is hidden
    answer_logprob: float | None
    generate_seconds: float
    attribute_seconds: float


@dataclass
class _Row:
    job: Job
    pad: int
    ids: list[int] = field(default_factory=list)  # generated so far
    logprobs: list[float] = field(default_factory=list)  # log p of each generated token
    sent: int = 0  # characters already streamed
    done: str = ""  # finish reason once finished
    answer_len: int = 0  # generated tokens that belong to the answer (before any stop string)
    prefix: PrefixKV | None = None
    text: str = ""


class Engine:
    def __init__(self, model: Any, tokenizer: Any, max_batch: int = 8) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        eos = model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            self.eos_ids.add(tokenizer.eos_token_id)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.window = getattr(model.config, "sliding_window", None) or 1 << 30
        self.max_positions = getattr(model.config, "max_position_embeddings", 1 << 30)
        self.batches_run = 0
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="tessera-engine", daemon=True)
        self._thread.start()

    # public --------------------------------------------------------------------------------

    def submit(self, job: Job) -> Future[Completion]:
        self._queue.put(job)
        return job.future

    def run(self, job: Job) -> Completion:
        return self.submit(job).result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    # the engine thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            live = []
            for j in batch:
                if not j.future.set_running_or_notify_cancel():
                    continue  # the caller cancelled the future itself
                if j.cancelled.is_set():  # the client left while the job waited
                    j.future.set_result(
                        Completion("", [], "cancelled", len(j.prompt.ids), None, None, 0.0, 0.0)
                    )
                else:
                    live.append(j)
            if not live:
                continue
            try:
                self._run(live)
            except Exception as exc:  # a failed batch must not kill the engine or hang callers
                for j in live:
                    if not j.future.done():
                        j.future.set_exception(exc)

    @torch.inference_mode()
    def _run(self, jobs: list[Job]) -> None:
        self.batches_run += 1
        start = time.perf_counter()
        width = max(len(j.prompt.ids) for j in jobs)
        rows = [_Row(j, width - len(j.prompt.ids)) for j in jobs]
        input_ids = torch.tensor([[self.pad_id] * r.pad + r.job.prompt.ids for r in rows])
        mask = torch.tensor([[0] * r.pad + [1] * len(r.job.prompt.ids) for r in rows])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (batch, width): padding keeps positions
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1].float()  # (batch, vocab)
        for r_index, row in enumerate(rows):
            if self._reuses_prefix(row.job):
                row.prefix = slice_prefix(cache, r_index, row.pad, row.job.prompt.prefix_len)
        active = list(range(len(rows)))  # batch positions of unfinished rows, in cache order
        last_pos = positions[:, -1]
        step = 0
        while active:
            choice = logits.argmax(-1)  # (active,)
            chosen = torch.log_softmax(logits, -1).gather(-1, choice.unsqueeze(-1))  # (active, 1)
            still = []
            for k, r_index in enumerate(active):
                row = rows[r_index]
                row.logprobs.append(float(chosen[k]))
                self._advance(row, int(choice[k]))
                if not row.done:
                    still.append(k)
            if not still:
                break
            if len(still) < len(active):
                keep = torch.tensor(still)
                cache.batch_select_indices(keep)
                mask, last_pos, choice = mask[keep], last_pos[keep], choice[keep]
                active = [active[k] for k in still]
            last_pos = last_pos + 1
            mask = torch.cat([mask, torch.ones(len(active), 1, dtype=mask.dtype)], dim=1)
            out = self.model(
                input_ids=choice.unsqueeze(-1),
                attention_mask=mask,
                position_ids=last_pos.unsqueeze(-1),
                past_key_values=cache,
                use_cache=True,
            )
            logits = out.logits[:, -1].float()
            step += 1
        generate_seconds = time.perf_counter() - start
        for row in rows:
            self._finish(row, generate_seconds)

    def _advance(self, row: _Row, token: int) -> None:
        job = row.job
        if job.cancelled.is_set():
            row.done = "cancelled"
            return
        if token in self.eos_ids:
            row.done, row.answer_len = "stop", len(row.ids)
            return
        row.ids.append(token)
        text = self.tokenizer.decode(row.ids, skip_special_tokens=True).lstrip()
        cut = min((text.find(s) for s in job.stop if s in text), default=-1)
        if cut >= 0:
            row.text, row.done, row.answer_len = text[:cut], "stop", len(row.ids) - 1
        else:
            row.text, row.answer_len = text, len(row.ids)
            if (
                len(row.ids) >= job.max_new_tokens
                or len(job.prompt.ids) + len(row.ids) >= self.max_positions
            ):
                row.done = "length"
        self._stream(row, final=bool(row.done))

    def _stream(self, row: _Row, final: bool) -> None:
        if row.job.on_text is None:
            return
        text = row.text
        if not final:  # hold back what could still turn into a stop string or a split character
            hold = max((len(s) - 1 for s in row.job.stop), default=0)
            text = text[: max(row.sent, len(text) - hold)]
            if text.endswith("\ufffd"):
                text = text[:-1]
        if len(text) > row.sent:
            row.job.on_text(text[row.sent :])
            row.sent = len(text)

    def _finish(self, row: _Row, generate_seconds: float) -> None:
        job = row.job
        if row.done == "cancelled" or job.cancelled.is_set():
            job.future.set_result(
                Completion(
                    row.text,
                    [],
                    "cancelled",
                    len(job.prompt.ids),
                    None,
                    None,
                    generate_seconds,
                    0.0,
                )
            )
            return
        self._stream(row, final=True)
        answer = row.ids[: row.answer_len]
        effects, logprob, seconds = None, None, 0.0
        if job.attribute and job.prompt.doc_spans:
            began = time.perf_counter()
            full = sum(row.logprobs[: len(answer)])  # scored while decoding: no extra row
            effects, logprob = self.ablation_effects(job.prompt, answer, row.prefix, full)
            seconds = time.perf_counter() - began
        job.future.set_result(
            Completion(
                row.text,
                answer,
                row.done,
                len(job.prompt.ids),
                effects,
                logprob,
                generate_seconds,
                seconds,
            )
        )

    def _reuses_prefix(self, job: Job) -> bool:
        # Past the sliding window the cache no longer holds the whole prefix: recompute instead.
        return (
            job.attribute
            and bool(job.prompt.doc_spans)
            and len(job.prompt.ids) + job.max_new_tokens < self.window
        )

    # attribution ------------------------------------------------------------------------------

    @torch.inference_mode()
    def ablation_effects(
        self,
        prompt: Prompt,
        answer: list[int],
        prefix: PrefixKV | None = None,
        full: float | None = None,
    ) -> tuple[list[float], float]:
        """For each document: log p(answer | all documents) - log p(answer | that one hidden).

        One forward pass, one row per document (plus one for the full context unless `full`,
        the answer's log-probability as decoding scored it, is given). Hiding a document masks
        its tokens from the question and the answer; with `prefix` (the documents' cached keys
        and values) only the question and answer are recomputed, otherwise the whole prompt.
        """
        k = len(prompt.doc_spans)
        if not answer:
            return [0.0] * k, 0.0
        first = 0 if full is None else 1  # 1: no row for the full context
        rows = k + 1 - first
        if prefix is not None:
            start = prompt.prefix_len
            tokens = prompt.suffix_ids + answer
            cache = repeated_cache(self.model.config, prefix, rows)
        else:
            start, tokens, cache = 0, prompt.ids + answer, None
        total = start + len(tokens)
        mask = torch.ones(rows, total, dtype=torch.long)  # (rows, prefix + recomputed)
        for i, (a, b) in enumerate(prompt.doc_spans, start=1 - first):
            mask[i, a:b] = 0
        input_ids = torch.tensor([tokens] * rows)  # (rows, recomputed)
        positions = torch.arange(start, total).expand(rows, -1)
        n = len(answer)
        logits = (
            self.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=cache is not None,
                logits_to_keep=n + 1,
            )
            .logits[:, :-1]
            .float()
        )  # (rows, n, vocab)
        logprobs = torch.log_softmax(logits, dim=-1)
        target = torch.tensor(answer).expand(rows, n).unsqueeze(-1)  # (rows, n, 1)
        totals = logprobs.gather(-1, target).squeeze(-1).sum(-1)  # (rows,)
        if full is None:
            full = float(totals[0])
        return [full - float(totals[i]) for i in range(1 - first, rows)], full

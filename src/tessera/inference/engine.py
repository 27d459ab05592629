"""The engine: one thread that owns the model, batches waiting requests, decodes greedily,
streams text as it comes, and measures each answer's dependence on each document.

Why one thread: torch already uses every core inside one forward pass, and a single owner of
the model keeps greedy decoding deterministic and the batching simple. Requests that arrive
while others decode join the running batch at the next step (continuous batching).
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

from tessera.inference.kv import (
    PrefixKV,
    merge_left_padded,
    repeated_cache,
    slice_prefix,
    trim_left,
)
from tessera.inference.prompt import Prompt
from tessera.models.generator import target_logprobs

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

    @classmethod
    def cancelled(cls, job: Job, text: str, seconds: float) -> Completion:
        """The client left: no answer to attribute, nothing to receipt."""
        return cls(text, [], "cancelled", len(job.prompt.ids), None, None, seconds, 0.0)


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
    started: float = 0.0


@dataclass
class _Batch:
    """The running decode state; row i of every tensor is rows[i]."""

    rows: list[_Row]
    cache: Any  # DynamicCache, left-padded to `width` columns
    mask: torch.Tensor  # (rows, width)
    last_pos: torch.Tensor  # (rows,) position of each row's last token
    logits: torch.Tensor  # (rows, vocab) next-token logits
    next_ids: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    def select(self, keep: list[int], choice: torch.Tensor) -> _Batch:
        """Keep rows `keep`, append their chosen tokens, and drop all-padding columns."""
        index = torch.tensor(keep)
        if len(keep) < len(self.rows):
            self.cache.batch_select_indices(index)
        mask = torch.cat([self.mask[index], torch.ones(len(keep), 1, dtype=self.mask.dtype)], 1)
        batch = _Batch(
            [self.rows[k] for k in keep],
            self.cache,
            mask,
            self.last_pos[index] + 1,
            self.logits[index],
            choice[index],
        )
        unused = int((batch.mask.sum(0) == 0).long().cumprod(0).sum())  # leading empty columns
        if unused:
            trim_left(batch.cache, unused)
            batch.mask = batch.mask[:, unused:]
        return batch

    def merge(self, other: _Batch, config: Any) -> _Batch:
        width = max(self.width, other.width)
        cache = merge_left_padded(
            config, [(self.cache, width - self.width), (other.cache, width - other.width)]
        )
        pad = [
            torch.zeros(b.mask.shape[0], width - b.width, dtype=b.mask.dtype) for b in (self, other)
        ]
        mask = torch.cat([torch.cat([pad[0], self.mask], 1), torch.cat([pad[1], other.mask], 1)])
        return _Batch(
            self.rows + other.rows,
            cache,
            mask,
            torch.cat([self.last_pos, other.last_pos]),
            torch.cat([self.logits, other.logits]),
        )


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
        # Held around every forward pass. Anything else that runs torch in this process (the
        # query embedder) takes it too: two thread pools on the same cores slow both badly.
        self.lock = threading.Lock()
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
        batch: _Batch | None = None
        waiting: list[Job] = []  # taken from the queue, not yet admitted into the batch
        while True:
            room = self.max_batch - (len(batch.rows) if batch else 0)
            if not self._take(waiting, block=batch is None and not waiting, limit=room):
                return  # closed
            try:
                with self.lock:
                    batch = self._admit(batch, waiting)
                with self.lock:
                    if batch is not None:
                        batch = self._step(batch)
            except Exception as exc:  # a failure must not kill the engine or hang callers
                for row in batch.rows if batch else []:
                    if not row.job.future.done():
                        row.job.future.set_exception(exc)
                for job in waiting:
                    if not job.future.done():
                        job.future.set_exception(exc)
                batch, waiting = None, []

    def _take(self, waiting: list[Job], block: bool, limit: int) -> bool:
        """Move queued jobs to `waiting`; False once close() was called."""
        while len(waiting) < max(limit, 1):
            try:
                job = self._queue.get() if block else self._queue.get_nowait()
            except queue.Empty:
                return True
            block = False
            if job is None:
                return False
            if not job.future.set_running_or_notify_cancel():
                continue  # the caller cancelled the future itself
            if job.cancelled.is_set():  # the client left while the job waited
                job.future.set_result(Completion.cancelled(job, "", 0.0))
                continue
            waiting.append(job)
        return True

    @torch.inference_mode()
    def _admit(self, batch: _Batch | None, waiting: list[Job]) -> _Batch | None:
        """Prefill the waiting jobs that fit and merge them into the running batch.

        Continuous batching: a request joins at the next step instead of waiting for the
        whole batch to finish, so one long answer never holds the others back.
        """
        room = self.max_batch - (len(batch.rows) if batch else 0)
        fits: list[Job] = []
        for job in list(waiting):
            width = max(batch.width if batch else 0, len(job.prompt.ids))
            # merged rows share one cache width; it must stay inside the sliding window
            if len(fits) < room and (
                (batch is None and not fits)
                or width + self._longest(batch, [*fits, job]) < self.window
            ):
                fits.append(job)
                waiting.remove(job)
        if not fits:
            return batch
        try:
            joined = self._prefill(fits)
            merged = joined if batch is None else batch.merge(joined, self.model.config)
        except Exception as exc:  # fail these requests, keep decoding the others
            for job in fits:
                job.future.set_exception(exc)
            return batch
        self.batches_run += 1
        return merged

    def _longest(self, batch: _Batch | None, jobs: list[Job]) -> int:
        budgets = [j.max_new_tokens for j in jobs]
        budgets += [r.job.max_new_tokens - len(r.ids) for r in batch.rows] if batch else []
        return max(budgets, default=0)

    def _prefill(self, jobs: list[Job]) -> _Batch:
        from transformers import DynamicCache

        width = max(len(j.prompt.ids) for j in jobs)
        rows = [_Row(j, width - len(j.prompt.ids), started=time.perf_counter()) for j in jobs]
        input_ids = torch.tensor([[self.pad_id] * r.pad + r.job.prompt.ids for r in rows])
        mask = torch.tensor([[0] * r.pad + [1] * len(r.job.prompt.ids) for r in rows])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (batch, width): padding keeps positions
        cache = DynamicCache(config=self.model.config)
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        for index, row in enumerate(rows):
            if self._reuses_prefix(row.job):
                row.prefix = slice_prefix(cache, index, row.pad, row.job.prompt.prefix_len)
        return _Batch(rows, cache, mask, positions[:, -1], out.logits[:, -1].float())

    @torch.inference_mode()
    def _step(self, batch: _Batch) -> _Batch | None:
        """Pick every row's next token, finish the rows that are done, decode one step."""
        choice = batch.logits.argmax(-1)  # (rows,)
        chosen = torch.log_softmax(batch.logits, -1).gather(-1, choice.unsqueeze(-1))  # (rows, 1)
        keep = []
        for k, row in enumerate(batch.rows):
            row.logprobs.append(float(chosen[k]))
            self._advance(row, int(choice[k]))
            if row.done:
                try:
                    self._finish(row, time.perf_counter() - row.started)
                except Exception as exc:  # e.g. attribution failed: this request fails alone
                    row.job.future.set_exception(exc)
            else:
                keep.append(k)
        if not keep:
            return None
        batch = batch.select(keep, choice)
        out = self.model(
            input_ids=batch.next_ids.unsqueeze(-1),
            attention_mask=batch.mask,
            position_ids=batch.last_pos.unsqueeze(-1),
            past_key_values=batch.cache,
            use_cache=True,
        )
        batch.logits = out.logits[:, -1].float()
        return batch

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
            job.future.set_result(Completion.cancelled(job, row.text, generate_seconds))
            return
        self._stream(row, final=True)
        answer = row.ids[: row.answer_len]
        effects, logprob, seconds = None, None, 0.0
        if job.attribute and job.prompt.doc_spans:
            began = time.perf_counter()
            full = row.logprobs[: len(answer)]  # scored while decoding: no extra row
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
        full: list[float] | None = None,
        cap_by_context: bool = True,
    ) -> tuple[list[float], float]:
        """What the answer owed to each document, in nats; and log p(answer | all documents).

        For document i and answer token t, d(i, t) = log p(t | all) - log p(t | all but i):
        how much hiding document i costs that token. With `cap_by_context` a token can credit
        a document with at most what the documents together gave it, c(t) = log p(t | all) -
        log p(t | none), and never less than 0: a restatement of the question ("The Mirmo Mill
        is known for...") owes the documents nothing, whichever one primed its wording, while
        the fact that follows owes them everything. effect(i) = sum over t of
        min(max(d(i, t), 0), max(c(t), 0)); without the cap, the plain sum of d(i, t).

        One forward pass: a row per document, a row with every document hidden, and one for
        the full context unless decoding already scored it (`full`, per answer token). Hiding
        masks the document's tokens from the question and the answer; with `prefix` (the
        documents' cached keys and values) only those are recomputed, else the whole prompt.
        """
        k = len(prompt.doc_spans)
        if not answer:
            return [0.0] * k, 0.0
        first = 0 if full is None else 1  # 1: no row for the full context
        rows = k + 2 - first  # [full], each document hidden, all hidden
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
            mask[rows - 1, a:b] = 0
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
        per_token = target_logprobs(logits, answer)  # (rows, n)
        full_t = per_token[0] if full is None else torch.tensor(full[:n])  # (n,)
        hidden = per_token[1 - first : rows - 1]  # (k, n)
        drop = full_t.unsqueeze(0) - hidden  # (k, n): d(i, t)
        if cap_by_context:
            context = (full_t - per_token[rows - 1]).clamp(min=0)  # (n,): c(t)
            drop = torch.minimum(drop.clamp(min=0), context.unsqueeze(0))
        return [float(x) for x in drop.sum(-1)], float(full_t.sum())

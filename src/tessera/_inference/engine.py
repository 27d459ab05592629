"""The engine: one thread that owns the model, batches every request's work into one forward
pass per step, decodes greedily, streams text as it comes, and measures each answer's
dependence on each document.

Why one thread: torch already uses every core inside one forward pass, and a single owner of
the model keeps greedy decoding deterministic and the batching simple. Requests that arrive
while others decode join at the next step (continuous batching), and each step packs prompts
being prefilled, one new token per decoding answer, and the attribution probes of every
finished answer into one pass (inference/packed.py). What the probes are and what their
log-probabilities mean is the attribution method's (attribution/base.py): the engine runs them.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import torch

from tessera._attribution.base import Answered, Attributor, Probe
from tessera._attribution.masked_ablation import MaskedAblation
from tessera._attribution.reference import effects_from_scratch
from tessera._errors import ModelError
from tessera._inference.lora import AdapterBank
from tessera._inference.packed import ColumnStore, PackedModel, Stream
from tessera._inference.prompt import Prompt
from tessera._models.adapter import LoraAdapter

TokenCallback = Callable[[str], None]
PREFILL_TOKENS = 4096  # prompt tokens admitted per step beyond the first prompt: bounds a step


@dataclass
class Job:
    prompt: Prompt
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ("\n",)
    attribute: bool = True
    on_text: TokenCallback | None = None  # called on the engine thread with each new piece
    adapter: int | None = None  # the AdapterBank slot it is answered with (submit_adapted)
    adapter_digest: str | None = None  # and that adapter's weights digest
    # generate all max_new_tokens, through end-of-sequence tokens (vLLM's ignore_eos): equal
    # work per request, for benchmarks that compare models whose answers differ in length
    ignore_eos: bool = False
    cancelled: threading.Event = field(default_factory=threading.Event)
    future: Future[Completion] = field(default_factory=Future)


@dataclass(frozen=True)
class Completion:
    text: str
    answer_ids: list[int]
    finish_reason: str  # "stop", "length" or "cancelled"
    prompt_tokens: int
    effects: list[float] | None  # per document, as the engine's attributor measures it
    answer_logprob: float | None
    generate_seconds: float
    attribute_seconds: float
    # per method the engine runs `also` (its name), its effects; absent: it did not apply
    also: dict[str, list[float]] = field(default_factory=dict)
    adapter_digest: str | None = None  # the adapter that answered; None: the base model
    # per method that measured one (its name), the nats the answer owes to what it credits
    gains: dict[str, float] = field(default_factory=dict)

    @classmethod
    def cancelled(cls, job: Job, text: str, seconds: float) -> Completion:
        """The client left: no answer to attribute, nothing to receipt."""
        return cls(text, [], "cancelled", len(job.prompt.ids), None, None, seconds, 0.0)


@dataclass
class _Row:
    job: Job
    id: int
    ids: list[int] = field(default_factory=list)  # generated so far
    logprobs: list[float] = field(default_factory=list)  # log p of each generated token
    sent: int = 0  # characters already streamed
    done: str = ""  # finish reason once finished
    answer_len: int = 0  # generated tokens that belong to the answer (before any stop string)
    text: str = ""
    started: float = 0.0
    generated: float = 0.0  # when decoding ended

    @property
    def answer(self) -> list[int]:
        return self.ids[: self.answer_len]

    def feed(self) -> Stream:
        """The stream that continues this row: its prompt, or its latest token."""
        prompt = self.job.prompt.ids
        adapter = self.job.adapter
        if not self.ids:
            return Stream(self.id, prompt, 0, adapter=adapter)
        return Stream(self.id, self.ids[-1:], len(prompt) + len(self.ids) - 1, adapter=adapter)

    def answered(self) -> Answered:
        prompt = self.job.prompt
        logprobs = self.logprobs[: self.answer_len]  # scored while decoding
        return Answered(
            prompt.ids, prompt.prefix_len, prompt.doc_spans, self.answer, logprobs,
            self.job.adapter_digest,
        )  # fmt: skip

    def stream(self, probe: Probe) -> Stream:
        return probe_stream(self.id, probe, self.job.adapter if probe.adapted else None)


class Engine:
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch: int = 8,
        attributor: Attributor | None = None,
        bank: AdapterBank | None = None,
        also: Sequence[Attributor] = (),
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.attributor = attributor or MaskedAblation()  # context attribution: what pays
        self.also = tuple(also)  # more methods on the same answers (training attribution)
        self.packed = PackedModel(model, bank)
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.max_positions = getattr(model.config, "max_position_embeddings", 1 << 30)
        self.batches_run = 0  # steps that admitted new requests
        # Held around every forward pass. Anything else that runs torch in this process (the
        # query embedder) takes it too: two thread pools on the same cores slow both badly.
        self.lock = threading.Lock()
        self._ids = itertools.count()
        self._store = ColumnStore()
        self._decoding: list[_Row] = []
        self._scoring: list[_Row] = []  # finished answers whose probes run next step
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="tessera-engine", daemon=True)
        self._thread.start()

    # public --------------------------------------------------------------------------------

    @property
    def bank(self) -> AdapterBank | None:
        """The adapter slots the packed model applies (None: the base model alone)."""
        return self.packed.bank

    def submit(self, job: Job) -> Future[Completion]:
        self._queue.put(job)
        return job.future

    def submit_adapted(
        self, job: Job, digest: str, load: Callable[[], LoraAdapter]
    ) -> Future[Completion]:
        """Answer `job` with adapter `digest` (read by `load` if it is not resident), which
        stays in its slot until the job is done."""
        if self.bank is None:
            raise ModelError("this engine serves no adapters: start it with an adapter bank")
        bank, slot = self.bank, self.bank.acquire(digest, load)
        job.adapter, job.adapter_digest = slot, digest
        job.future.add_done_callback(lambda _: bank.release(slot))
        return self.submit(job)

    def run(self, job: Job) -> Completion:
        return self.submit(job).result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    # the engine thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        waiting: list[Job] = []  # taken from the queue, not yet admitted
        while True:
            idle = not (self._decoding or self._scoring or waiting)
            if not self._take(waiting, block=idle):
                return  # closed
            self._admit(waiting)
            if not (self._decoding or self._scoring):
                continue
            try:
                with self.lock:
                    self._step()
            except Exception as exc:  # a failure must not kill the engine or hang callers
                for row in self._decoding + self._scoring:
                    if not row.job.future.done():
                        row.job.future.set_exception(exc)
                self._decoding, self._scoring = [], []
                self._store.clear()

    def _take(self, waiting: list[Job], block: bool) -> bool:
        """Move queued jobs to `waiting`; False once close() was called."""
        while True:
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

    def _admit(self, waiting: list[Job]) -> None:
        """Start as many waiting jobs as the batch and the step's prompt budget allow.

        Continuous batching: a request joins at the next step instead of waiting for the
        whole batch to finish, so one long answer never holds the others back.
        """
        admitted, tokens = 0, 0
        while waiting and len(self._decoding) + len(self._scoring) < self.max_batch:
            size = len(waiting[0].prompt.ids)
            if admitted and tokens + size > PREFILL_TOKENS:
                break
            job = waiting.pop(0)
            self._decoding.append(_Row(job, next(self._ids), started=time.perf_counter()))
            admitted, tokens = admitted + 1, tokens + size
        if admitted:
            self.batches_run += 1

    @torch.inference_mode()
    def _step(self) -> None:
        """One pass: feed every decoding row, run every finished row's attribution probes."""
        scoring = [(row, groups) for row in self._scoring if (groups := self._probes(row))]
        finished = {row.id for row in self._scoring}
        streams = [row.feed() for row in self._decoding]
        probed = [row.stream(p) for row, groups in scoring for g in groups for p in g.probes]
        results = self.packed.step(self._store, streams + probed) if streams or probed else []
        self._scoring = []  # only now: should the pass fail, _loop fails these rows too
        fed, scored = results[: len(streams)], results[len(streams) :]
        at = 0
        for row, groups in scoring:
            for group in groups:
                group.scored = [lp for _, lp in scored[at : at + len(group.probes)]]
                at += len(group.probes)
            self._settle(row, groups)
        keep = []
        for row, ([token], [logprob]) in zip(self._decoding, fed, strict=True):
            row.logprobs.append(logprob)
            self._advance(row, token)
            if not row.done:
                keep.append(row)
            elif row.done == "cancelled" or not self._attributes(row):
                finished.add(row.id)
                self._settle(row, None)
            else:
                self._scoring.append(row)  # its cached prompt serves the probes next step
        self._decoding = keep
        self._store.drop(finished)

    def _probes(self, row: _Row) -> list[_Probed]:
        """Each method's probes for a finished row (the context method only where there are
        documents); none if one failed, failing the row; a row no method probes is settled."""
        answered = row.answered()
        methods = [self.attributor] if answered.doc_spans else []
        try:
            groups = [_Probed(m, m.probes(answered)) for m in [*methods, *self.also]]
            for probe in (p for g in groups for p in g.probes):
                _check(probe, len(row.job.prompt.ids))
        except Exception as exc:  # a method's failure fails its request alone
            row.job.future.set_exception(exc)
            return []
        groups = [g for g in groups if g.probes or g.method is self.attributor]
        if not any(g.probes for g in groups):
            self._settle(row, groups)
            return []
        return groups

    def _settle(self, row: _Row, groups: list[_Probed] | None) -> None:
        """Complete a finished row; `groups`: each method's probes, scored, if attributed."""
        job = row.job
        if not row.generated:
            row.generated = time.perf_counter()
        generate_seconds = row.generated - row.started
        if row.done == "cancelled" or job.cancelled.is_set():
            job.future.set_result(Completion.cancelled(job, row.text, generate_seconds))
            return
        found: list[float] | None = None
        logprob: float | None = None
        also: dict[str, list[float]] = {}
        gains: dict[str, float] = {}
        try:
            if groups is not None:
                answered = row.answered()
                logprob = float(torch.tensor(answered.answer_logprobs).sum())
            for group in groups or []:
                effects = group.method.effects(answered, group.scored)
                gain = group.method.gain(answered, group.scored) if group.probes else None
                if gain is not None:
                    gains[group.method.name] = gain
                if group.method is self.attributor:
                    found = effects
                else:
                    also[group.method.name] = effects
        except Exception as exc:  # e.g. attribution failed: this request fails alone
            job.future.set_exception(exc)
            return
        self._stream(row, final=True)
        job.future.set_result(
            Completion(
                row.text,
                row.answer,
                row.done,
                len(job.prompt.ids),
                found,
                logprob,
                generate_seconds,
                time.perf_counter() - row.generated if groups is not None else 0.0,
                also,
                job.adapter_digest,
                gains,
            )
        )

    def _attributes(self, row: _Row) -> bool:
        has_method = bool(row.job.prompt.doc_spans) or bool(self.also)
        return row.job.attribute and has_method and bool(row.answer)

    def _advance(self, row: _Row, token: int) -> None:
        job = row.job
        if job.cancelled.is_set():
            row.done = "cancelled"
            return
        if token in self.eos_ids and not job.ignore_eos:
            row.done, row.answer_len = "stop", len(row.ids)
            return
        row.ids.append(token)
        text = delivered_text(self.tokenizer, row.ids)
        cut = first_stop(text, job.stop)
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

    # attribution ------------------------------------------------------------------------------

    def ablation_effects(
        self, prompt: Prompt, answer: list[int], cap_by_context: bool = True
    ) -> tuple[list[float], float]:
        """The reference the engine's cached ablations are checked against: the masked
        ablation's probes recomputed from scratch (attribution/reference.py).

        Returns what the answer owed to each document, in nats, and log p(answer | all
        documents). Hiding masks the document's tokens from everything after it, so later
        documents are re-read without it (the engine's cached path reuses them as they were).
        """
        method = MaskedAblation(cap_by_context=cap_by_context)
        return effects_from_scratch(
            self.model, method, prompt.ids, prompt.prefix_len, prompt.doc_spans, answer
        )


def probe_stream(request: int, probe: Probe, adapter: int | None = None) -> Stream:
    """A probe as a packed stream: it sees its request's cached columns below its start,
    minus the hidden ones, and its columns are dropped after the pass. It runs on its
    answer's adapter, so it measures what that model owed each document."""
    return Stream(
        request,
        probe.tokens,
        probe.start,
        False,
        probe.start,
        probe.hidden,
        probe.targets,
        adapter,
    )


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """The tokens that end an answer: the model's generation config's and the tokenizer's."""
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def delivered_text(tokenizer: Any, ids: list[int]) -> str:
    """Generated tokens as the client reads them, before any stop string cuts them."""
    return str(tokenizer.decode(ids, skip_special_tokens=True)).lstrip()


def first_stop(text: str, stops: tuple[str, ...]) -> int:
    """Where the first of `stops` to occur in `text` begins; -1 if none occurs."""
    return min((text.find(s) for s in stops if s in text), default=-1)


@dataclass
class _Probed:
    """One method's probes for one finished answer, and once run, what they scored."""

    method: Attributor
    probes: list[Probe]
    scored: list[list[float]] = field(default_factory=list)


def _check(probe: Probe, prompt_len: int) -> None:
    """A probe reads only the prompt's cache, and scores only its own positions."""
    if not 0 <= probe.start <= prompt_len:
        raise ModelError(f"a probe starts at {probe.start}, outside the prompt of {prompt_len}")
    if not probe.adapted and probe.start != 0:
        raise ModelError(
            "a probe on the base model alone must start at 0: the prompt's cached keys and "
            "values were computed with the adapter"
        )
    if not 1 <= len(probe.targets) <= len(probe.tokens):
        raise ModelError(
            f"a probe scores {len(probe.targets)} targets over {len(probe.tokens)} tokens: "
            "it must score at least one, and no more than it feeds"
        )

"""What an attribution method is: the scoring passes it asks for, and what it makes of them.

An `Attributor` sees a finished answer (`Answered`), asks for extra scoring passes of that
answer (`Probe`s), and turns their log-probabilities into one effect per document, and effects
into weights that sum to 1 (or are all 0). The engine runs every probe of every finished
answer in its packed step, reading the prompt's cached keys and values, and never needs to
know what the probes mean, so a new method is a new file beside this one, not an engine edit:

    engine = Engine(model, tokenizer, attributor=ContextCite())
    engine = Engine(model, tokenizer, also=[TrainingSpans(...)])  # a second method, run beside

An engine runs its `attributor` (context attribution, which the receipt pays by) and any
others it is given `also` on every finished answer, all their probes in the same step.

These types are plain data, so this package knows nothing of the engine that runs them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

Span = tuple[int, int]  # [start, end) token positions of one document in the prompt


@dataclass(frozen=True)
class Answered:
    """A finished answer to attribute: its prompt, where the documents lie in it, the answer."""

    prompt_ids: Sequence[int]
    prefix_len: int  # tokens up to the end of the last document; the rest is the question
    doc_spans: tuple[Span, ...]
    answer_ids: Sequence[int]
    answer_logprobs: Sequence[float]  # log p of each answer token, scored while decoding
    adapter: str | None = None  # weights digest of the adapter that answered; None: the base

    @property
    def suffix_ids(self) -> Sequence[int]:
        return self.prompt_ids[self.prefix_len :]


@dataclass(frozen=True)
class Probe:
    """One extra scoring pass over the answered prompt.

    `tokens` are fed at positions start, start + 1, ... after the prompt's cached tokens below
    `start`, of which those inside a `hidden` span stay unseen; the pass returns log p of each
    of `targets`, predicted at the last len(targets) positions. Named for what it does to the
    model: it probes how the answer's likelihood moves when the context changes.
    """

    tokens: Sequence[int]
    start: int
    hidden: tuple[Span, ...]
    targets: Sequence[int]
    # False: on the base model alone, not the answer's adapter; it then reads nothing cached
    # (the prompt's keys and values were computed with the adapter) and starts at 0
    adapted: bool = True


class Attributor(ABC):
    """An attribution method: probes to run, then effects per document, then weights."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The method and its parameters, as a receipt names it: a validator re-runs it."""

    @abstractmethod
    def probes(self, answered: Answered) -> list[Probe]:
        """The scoring passes this method needs for `answered` (a non-empty answer); none if
        the method does not apply to it (no documents to credit, no adapter's training)."""

    @abstractmethod
    def effects(self, answered: Answered, scored: Sequence[Sequence[float]]) -> list[float]:
        """One effect per document; `scored`: per probe, in order, log p of each target."""

    @abstractmethod
    def weights(self, effects: Sequence[float]) -> list[float]:
        """Effects to weights: non-negative, summing to 1, or all 0 if nothing mattered."""

    def gain(self, answered: Answered, scored: Sequence[Sequence[float]]) -> float | None:
        """The nats of log-likelihood the answer owes to everything this method credits (all
        the prompt's documents; the adapter's training), never below 0: what the contributors'
        pool is divided by between methods (`pool_share`). None: not measured by this one."""
        return None

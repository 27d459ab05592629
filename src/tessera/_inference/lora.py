"""Many LoRA adapters over one base model, mixed in the same packed pass.

Each linear layer of the base model's decoder is wrapped once. In a packed step every row (a
token) belongs to the base model or to one adapter, and the wrapper adds to each adapter's rows
that adapter's own delta, x A^T (scale B)^T, after the shared base product. The base weights are
never changed: nothing is merged into them, and no step runs one batch per adapter.

The packed step orders rows by adapter, so an adapter's rows are runs. A long run (a prompt
being prefilled, an attribution probe) gets two small products on views of its adapter's
weights; the short runs (one new token per decoding answer) are gathered and done as one
batched product over all of them with each row's own A and B (as Punica's BGMV kernel does), so
eight answers on eight adapters cost two products per layer, not sixteen.

Adapters live in an AdapterBank of preallocated slots, each holding one adapter's A and B for
every layer, zero-padded to the bank's rank (a zero row adds nothing). A slot is reused least
recently used first, and never while a request holds it.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tessera._errors import AdapterBusy, ModelError
from tessera._models.adapter import LoraAdapter, check_fits

DENSE_ROWS = 8  # a run of this many rows of one adapter is cheaper as its own two products
_ACTIVE: contextvars.ContextVar[LoraPlan | None] = contextvars.ContextVar("lora", default=None)


@dataclass(frozen=True)
class LoraPlan:
    """Which rows of a pass get which slot's delta: dense runs, then gathered single rows."""

    dense: tuple[tuple[int, int, int, int], ...]  # (start, stop, slot, rank)
    rows: torch.Tensor | None  # (n,) rows done by the gathered product
    slots: torch.Tensor | None  # (n,) their slots
    every_row: bool = False  # the gathered rows are all the pass's rows, in order

    @classmethod
    def of(cls, runs: Sequence[tuple[int, int | None]], ranks: Sequence[int]) -> LoraPlan | None:
        """From (row count, slot or None) per run, in row order; None if no row is adapted."""
        dense: list[tuple[int, int, int, int]] = []
        rows: list[int] = []
        slots: list[int] = []
        at = 0
        for count, slot in runs:
            if slot is not None and count >= DENSE_ROWS:
                dense.append((at, at + count, slot, ranks[slot]))
            elif slot is not None:
                rows.extend(range(at, at + count))
                slots.extend([slot] * count)
            at += count
        if not dense and not rows:
            return None
        every_row = not dense and len(rows) == at
        if not rows:
            return cls(tuple(dense), None, None)
        return cls(tuple(dense), torch.tensor(rows), torch.tensor(slots), every_row)


def active(plan: LoraPlan | None) -> contextvars.Token[LoraPlan | None]:
    """Make `plan` the one the wrapped layers apply, until `reset(token)`."""
    return _ACTIVE.set(plan)


def reset(token: contextvars.Token[LoraPlan | None]) -> None:
    _ACTIVE.reset(token)


class LoraLinear(torch.nn.Module):
    """A base linear layer plus, for the rows a plan names, each row's adapter delta."""

    def __init__(self, base: torch.nn.Module, path: str, bank: AdapterBank) -> None:
        super().__init__()
        self.base = base
        self.in_features: int = int(base.in_features)  # type: ignore[arg-type]
        self.out_features: int = int(base.out_features)  # type: ignore[arg-type]
        self.path = path
        self._bank = [bank]  # a list: the bank is not a submodule of the model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x).contiguous()
        plan = _ACTIVE.get()
        if plan is None:
            return out
        a, b = self._bank[0].a[self.path], self._bank[0].b[self.path]
        rows_in = x.reshape(-1, self.in_features)
        rows_out = out.view(-1, self.out_features)
        for start, stop, slot, rank in plan.dense:
            low = rows_in[start:stop] @ a[slot, :rank].T  # (rows, rank)
            rows_out[start:stop].addmm_(low, b[slot, :, :rank].T)  # in place: one op, not two
        if plan.rows is not None and plan.every_row:  # a decoding step: in place, no gathers
            low = torch.bmm(a[plan.slots], rows_in.unsqueeze(-1))  # (n, rank, 1)
            rows_out.unsqueeze(-1).baddbmm_(b[plan.slots], low)
        elif plan.rows is not None:
            low = torch.bmm(a[plan.slots], rows_in[plan.rows].unsqueeze(-1))  # (n, rank, 1)
            rows_out.index_add_(0, plan.rows, torch.bmm(b[plan.slots], low).squeeze(-1))
        return out


class AdapterBank:
    """Slots for `capacity` adapters of rank up to `rank` over `model`, which it wraps."""

    def __init__(self, model: Any, capacity: int, rank: int = 16) -> None:
        if capacity < 1 or rank < 1:
            raise ModelError("an adapter bank needs at least one slot of rank at least 1")
        self.capacity, self.rank = capacity, rank
        self.layers = _wrap(model, self)
        # empty, not zeros: memory is committed only as slots are filled
        self.a = {p: torch.empty(capacity, rank, m.in_features) for p, m in self.layers.items()}
        self.b = {p: torch.empty(capacity, m.out_features, rank) for p, m in self.layers.items()}
        self.ranks = [0] * capacity
        self._pins = [0] * capacity
        self._slots: OrderedDict[str, int] = OrderedDict()  # digest -> slot, least recent first
        self._free = list(range(capacity - 1, -1, -1))
        self._lock = threading.Lock()
        self.loads = 0  # adapters written into a slot, cold loads

    def resident(self) -> list[str]:
        """Digests in slots, least recently used first."""
        with self._lock:
            return list(self._slots)

    def slots(self) -> dict[str, tuple[int, int]]:
        """digest -> (slot, requests holding it), least recently used first."""
        with self._lock:
            return {d: (s, self._pins[s]) for d, s in self._slots.items()}

    def acquire(self, digest: str, load: Callable[[], LoraAdapter]) -> int:
        """The slot holding adapter `digest`, pinned until `release`; `load` reads it when it
        is not resident, into a free slot or the least recently used unpinned one."""
        with self._lock:
            if digest in self._slots:
                return self._pin(digest)
        # read outside the lock: a cold read takes a while, and the engine's releases (and so
        # every other request's decoding) must not wait for it; a second reader of the same
        # adapter finds it resident below and drops its copy
        adapter = load()
        with self._lock:
            if digest not in self._slots:
                self._fill(digest, adapter)
            return self._pin(digest)

    def _pin(self, digest: str) -> int:
        slot = self._slots[digest]
        self._slots.move_to_end(digest)
        self._pins[slot] += 1
        return slot

    def release(self, slot: int) -> None:
        with self._lock:
            if self._pins[slot] < 1:
                raise ModelError(f"adapter slot {slot} released more often than acquired")
            self._pins[slot] -= 1

    def plan(self, runs: Sequence[tuple[int, int | None]]) -> LoraPlan | None:
        return LoraPlan.of(runs, self.ranks)

    def _fill(self, digest: str, adapter: LoraAdapter) -> int:
        if adapter.digest != digest:
            raise ModelError(f"the adapter loaded for {digest} is {adapter.digest}")
        if adapter.rank > self.rank:
            raise ModelError(
                f"the adapter's rank {adapter.rank} is above this node's {self.rank}: "
                "start the node with a larger --adapter-rank"
            )
        check_fits(adapter, self.layers)
        slot = self._take_slot()
        try:
            with torch.no_grad():
                for path in self.layers:
                    self.a[path][slot].zero_()
                    self.b[path][slot].zero_()
                    if path in adapter.pairs:
                        a, b = adapter.pairs[path]
                        self.a[path][slot, : adapter.rank] = a
                        self.b[path][slot, :, : adapter.rank] = b * adapter.scale
        except BaseException:
            self._free.append(slot)  # never lose a slot to a failed copy
            raise
        self.ranks[slot] = adapter.rank
        self._slots[digest] = slot
        self.loads += 1
        return slot

    def _take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        for digest, slot in self._slots.items():  # least recently used first
            if self._pins[slot] == 0:
                del self._slots[digest]
                return slot
        raise AdapterBusy(
            f"all {self.capacity} adapter slots hold adapters that requests are using: "
            "retry shortly, or give the node a larger adapter memory budget"
        )


def bank_of(model: Any) -> AdapterBank | None:
    """The bank already wrapping `model`'s layers (None: none does)."""
    for module in model.modules():
        if isinstance(module, LoraLinear):
            return module._bank[0]
    return None


def slot_bytes(model: Any, rank: int) -> int:
    """The memory one bank slot of `rank` takes over `model`: float32 A and B per layer."""
    return sum(4 * rank * (c.in_features + c.out_features) for _, _, c, _ in _targets(model))


def _targets(model: Any) -> list[tuple[Any, str, Any, str]]:
    """(parent, name, layer, path) of every linear layer of the decoder, not the output's."""
    head = model.get_output_embeddings()
    return [
        (parent, name, child, f"{prefix}.{name}" if prefix else name)
        for prefix, parent in model.named_modules()
        for name, child in parent.named_children()
        if hasattr(child, "in_features")
        and child is not head
        and not isinstance(parent, LoraLinear)  # a wrapped layer counts once
    ]


def _wrap(model: Any, bank: AdapterBank) -> dict[str, LoraLinear]:
    """Wrap every linear layer of the decoder (not the output layer) in a LoraLinear."""
    layers = {}
    for parent, name, child, path in _targets(model):
        if isinstance(child, LoraLinear):
            raise ModelError("this model already serves adapters: load it again for a new bank")
        layers[path] = LoraLinear(child, path, bank)
        setattr(parent, name, layers[path])
    return layers

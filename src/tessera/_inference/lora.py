"""Many LoRA adapters over one base model, mixed in the same packed pass.

Each linear layer of the base model's decoder is wrapped once. In a packed step every row (a
token) belongs to the base model or to one adapter, and the wrapper adds to each adapter's rows
that adapter's own delta, x A^T (scale B)^T, after the shared base product. The base weights are
never changed: nothing is merged into them, and no step runs one batch per adapter.

The packed step orders rows by adapter, so an adapter's rows are runs. A long run (a prompt
being prefilled, an attribution probe) gets two small products on views of its adapter's
weights. The single rows (one new token of each decoding answer, each on its own adapter) go
to one call per layer of a small C kernel (`lora_kernel.py`) that reads each row's own A and
B in place. Measured with 8 rows on 8 adapters over the default model's 126 layers (rank 8):
8 ms a step, against 11 ms for two PyTorch matrix-vector calls per row and 13 ms for
gathering the rows' A and B into one batched product as Punica's BGMV kernel does (on a CPU
the gather copies every active adapter's weights each step). Without a C compiler the
per-row PyTorch calls run instead.

Adapters live in an AdapterBank of preallocated slots, each holding one adapter's A and B^T
for every layer, zero-padded to the bank's rank (a zero row adds nothing). A slot is reused least
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
from tessera._inference.lora_kernel import add_rows, rows_kernel
from tessera._models.adapter import LoraAdapter, check_fits

DENSE_ROWS = 8  # a run of this many rows of one adapter is cheaper as its own two products
_ACTIVE: contextvars.ContextVar[LoraPlan | None] = contextvars.ContextVar("lora", default=None)


@dataclass(frozen=True)
class LoraPlan:
    """Which rows of a pass get which slot's delta: dense runs, then single rows."""

    dense: tuple[tuple[int, int, int, int], ...]  # (start, stop, slot, rank)
    rows: tuple[tuple[int, int], ...] = ()  # (row, slot) of rows done one by one
    row_index: torch.Tensor | None = None  # the same as (3, n) int64: rows, slots, ranks

    @classmethod
    def of(cls, runs: Sequence[tuple[int, int | None]], ranks: Sequence[int]) -> LoraPlan | None:
        """From (row count, slot or None) per run, in row order; None if no row is adapted."""
        dense: list[tuple[int, int, int, int]] = []
        rows: list[tuple[int, int]] = []
        at = 0
        for count, slot in runs:
            if slot is not None and count >= DENSE_ROWS:
                dense.append((at, at + count, slot, ranks[slot]))
            elif slot is not None:
                rows.extend((row, slot) for row in range(at, at + count))
            at += count
        if not dense and not rows:
            return None
        index = [[r for r, _ in rows], [s for _, s in rows], [ranks[s] for _, s in rows]]
        return cls(tuple(dense), tuple(rows), torch.tensor(index, dtype=torch.int64))


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
        bank = self._bank[0]
        shared, at = bank.input_of[self.path]
        dense_lows, row_lows = shared.lows(x, plan, singles=bank.kernel is None)
        b, ranks = bank.b[self.path], bank.ranks
        rows_out = out.view(-1, self.out_features)
        for (start, stop, slot, rank), low in zip(plan.dense, dense_lows, strict=True):
            rows_out[start:stop].addmm_(low[:, at : at + rank], b[slot, :rank])  # in place
        if plan.rows and bank.kernel is not None and plan.row_index is not None:
            rows_in = x.reshape(-1, self.in_features).contiguous()
            add_rows(bank.kernel, rows_out, rows_in, bank.a[self.path], b, plan.row_index)
        elif plan.rows:
            b_views, outputs = bank.b_views[self.path], rows_out.unbind(0)
            for (row, slot), low in zip(plan.rows, row_lows, strict=True):
                outputs[row].addmv_(b_views[slot].T, low[at : at + ranks[slot]])
        return out


class SharedInput:
    """The layers of one block that read the same input (attention's q, k and v; the MLP's
    gate and up), with their A matrices stacked per slot: one product gives every member's
    x A^T, and the first member to run computes it for the rest. On a CPU each small product
    costs mostly its call, so this cuts a decoding row's products per block from 14 to 11."""

    def __init__(self, paths: Sequence[str], capacity: int, rank: int, in_features: int) -> None:
        self.paths, self.rank = tuple(paths), rank
        self.a = torch.empty(capacity, len(paths) * rank, in_features)
        self._last: tuple[Any, ...] = (None, None, (), ())  # input, plan, its lows

    def member(self, path: str) -> torch.Tensor:
        """`path`'s A in every slot: a view of the stacked matrix."""
        at = self.paths.index(path) * self.rank
        return self.a[:, at : at + self.rank]

    def lows(
        self, x: torch.Tensor, plan: LoraPlan, singles: bool
    ) -> tuple[Sequence[torch.Tensor], Sequence[torch.Tensor]]:
        """x A^T of every member, per dense run (rows, members x rank) and, if `singles`, per
        single row; computed once per input and plan (the identity check: a member fed
        another input, or a concurrent pass in another thread, computes its own)."""
        last_x, last_plan, dense, rows = self._last
        if last_x is x and last_plan is plan:
            return dense, rows
        rows_in = x.reshape(-1, x.shape[-1])
        dense = [rows_in[start:stop] @ self.a[slot].T for start, stop, slot, _ in plan.dense]
        inputs = rows_in.unbind(0) if singles else ()
        rows = [torch.mv(self.a[slot], inputs[row]) for row, slot in plan.rows] if singles else []
        self._last = (x, plan, dense, rows)
        return dense, rows


class AdapterBank:
    """Slots for `capacity` adapters of rank up to `rank` over `model`, which it wraps."""

    def __init__(self, model: Any, capacity: int, rank: int = 16) -> None:
        if capacity < 1 or rank < 1:
            raise ModelError("an adapter bank needs at least one slot of rank at least 1")
        self.capacity, self.rank = capacity, rank
        self.layers = _wrap(model, self)
        # empty, not zeros: memory is committed only as slots are filled
        self.input_of = {
            path: (shared, shared.paths.index(path) * rank)
            for shared in _shared_inputs(self.layers, capacity, rank)
            for path in shared.paths
        }
        self.a = {p: self.input_of[p][0].member(p) for p in self.layers}
        # B transposed, (rank, out) per slot: a row's delta is then an axpy per rank, dense
        self.b = {p: torch.empty(capacity, rank, m.out_features) for p, m in self.layers.items()}
        self.ranks = [0] * capacity
        self.kernel = rows_kernel()  # None: no C compiler here, single rows go through PyTorch
        # per layer, per slot: B^T cut to the slot's adapter's rank, for the single rows
        self.b_views = {p: [self.b[p][s, :0] for s in range(capacity)] for p in self.layers}
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
                        self.b[path][slot, : adapter.rank] = (b * adapter.scale).T
        except BaseException:
            self._free.append(slot)  # never lose a slot to a failed copy
            raise
        self.ranks[slot] = adapter.rank
        for path, views in self.b_views.items():
            views[slot] = self.b[path][slot, : adapter.rank]
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


def _shared_inputs(layers: dict[str, LoraLinear], capacity: int, rank: int) -> list[SharedInput]:
    """Siblings (one parent module) of equal input width, as the blocks feed them one input."""
    groups: dict[tuple[str, int], list[str]] = {}
    for path, layer in layers.items():
        parent = path.rpartition(".")[0]
        groups.setdefault((parent, layer.in_features), []).append(path)
    return [SharedInput(paths, capacity, rank, width) for (_, width), paths in groups.items()]


def _wrap(model: Any, bank: AdapterBank) -> dict[str, LoraLinear]:
    """Wrap every linear layer of the decoder (not the output layer) in a LoraLinear."""
    layers = {}
    for parent, name, child, path in _targets(model):
        if isinstance(child, LoraLinear):
            raise ModelError("this model already serves adapters: load it again for a new bank")
        layers[path] = LoraLinear(child, path, bank)
        setattr(parent, name, layers[path])
    return layers

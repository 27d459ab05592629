"""Models on the terminal: published versions, their provenance, and a trace to the data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import tessera
from tessera.cli.render import console, err_console


def record(r: tessera.ModelRecord) -> None:
    data = "proven" if r.data_proven else "DECLARED by the publisher, not proven"
    console.print(f"model {escape(r.model_id)} version {r.version}  (block {r.block})")
    console.print(f"  builder       {r.builder}")
    console.print(f"  digest        {r.weights_digest}")
    console.print(f"  base digest   {r.base_digest}")
    console.print(f"  files         {r.manifest_cid}", soft_wrap=True)
    snapshot = ", ".join(
        f"#{d} ({n} batches)"
        for d, n in zip(r.snapshot.datanets, r.snapshot.batch_counts, strict=True)
    )
    console.print(f"  trained on    {snapshot}")
    console.print(f"  data          {data}: {r.data_count} contributions, root {r.data_root}")
    console.print(f"  config hash   {r.config_hash}")


def versions(rs: list[tessera.ModelRecord]) -> None:
    for r in rs:
        record(r)
    console.print(f"trace one to its data with `tessera model trace --model {rs[-1].model_id}`")


def listing(rs: list[tessera.ModelRecord]) -> None:
    table = Table("model", "versions", "builder", "latest digest", "data")
    for r in rs:
        table.add_row(
            escape(r.model_id), str(r.version), r.builder, r.weights_digest[:18] + "...",
            "proven" if r.data_proven else "declared",
        )  # fmt: skip
    console.print(table)


def trace(t: tessera.ModelTrace) -> None:
    record(t.record)
    console.print(f"  adapter files verified against the digest, in {t.folder}", soft_wrap=True)
    for d in t.provenance.datanets:
        root = f"root {d.root}" if d.root else "declared, no root"
        console.print(f"  datanet       {escape(d.name)} (#{d.id}, {d.license}): "
                      f"{d.batches} batches, {root}")  # fmt: skip
    if t.contributions:
        table = Table("contribution", "datanet", "batch", "contributor")
        for c in t.contributions:
            table.add_row(c.cid, f"#{c.datanet}", f"#{c.batch}", c.contributor)
        console.print(table)
        console.print("prove any of them with `tessera contribution prove CID`")
    for problem in t.problems:
        console.print(f"[red]PROBLEM[/red] {escape(problem)}")
    verdict = "every claim checks out" if t.ok else f"{len(t.problems)} claims do not check out"
    console.print(f"trace: {verdict}")


@contextmanager
def training_bar(name: str) -> Iterator[Callable[[tessera.TrainProgress], None]]:
    """A bar on stderr with loss, tokens/s and ETA; off a terminal, a line every tenth."""
    bar = Progress(
        f"training {name}",
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  {task.fields[rate]:.0f} tokens/s"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )
    shown = [-1]
    with bar:
        task = bar.add_task("train", total=None, loss=float("nan"), rate=0.0)

        def update(p: tessera.TrainProgress) -> None:
            bar.update(task, completed=p.step, total=p.total, loss=p.loss, rate=p.tokens_per_s)
            tenth = 10 * p.step // max(p.total, 1)
            if not err_console.is_terminal and tenth > shown[0]:
                shown[0] = tenth
                err_console.print(
                    f"step {p.step}/{p.total}  loss {p.loss:.3f}  {p.tokens_per_s:.0f} tokens/s"
                    f"  eta {p.eta_s:.0f} s"
                )

        yield update


def trained(m: tessera.TrainedModel) -> None:
    r = m.result
    resumed = f", resumed from step {r.resumed_from}" if r.resumed_from else ""
    console.print(
        f"adapter trained in {m.folder}: {r.steps} steps, {r.tokens} tokens, final loss "
        f"{r.final_loss:.3f}, {r.tokens_per_s:.0f} tokens/s{resumed}", soft_wrap=True,
    )  # fmt: skip
    for d in m.snapshot.datanets:
        console.print(
            f"  on {escape(d.record.name)} (#{d.record.id}, {d.record.license}): first "
            f"{len(d.batches)} batches, root {d.root}"
        )
    console.print(f"  {len(m.snapshot.documents)} contributions, data root {m.snapshot.data_root}")
    if m.snapshot.withheld:
        console.print(f"  {len(m.snapshot.withheld)} left out by the content policy or forged")
    console.print(f"publish it with `tessera model publish {m.folder.name}`")

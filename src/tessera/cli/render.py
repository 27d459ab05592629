"""Tables and progress for the terminal; formatting only, no logic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

import tessera

# piped output keeps whole CIDs and addresses instead of folding them to a guessed 80 columns
console = Console(highlight=False, width=None if Console().is_terminal else 200)
err_console = Console(stderr=True, highlight=False)


def init_summary(t: tessera.Tessera) -> None:
    d = t.config.deployment
    console.print(f"Tessera home {t.home.path}")
    console.print(f"chain   {t.config.chain_kind} {t.config.chain_url} (id {d.chain_id})")
    console.print(f"registry {d.registry}\ntoken    {d.token}\nsettlement {d.settlement}")
    console.print(f"governor {d.governor}\ntimelock {d.timelock}\npolicy   {d.policy}")
    for info in t.accounts():
        console.print(f"account {info.name} {info.address}")
    how = "joined" if t.config.joined else "deployed"
    console.print(
        f"contracts {how}; another home joins them with: tessera init --chain "
        f"{t.config.chain_url} --join {d.registry}"
    )


def accounts(infos: list[tessera.AccountInfo]) -> None:
    table = Table("name", "address")
    for info in infos:
        table.add_row(info.name, info.address)
    console.print(table)


def datanets(records: list[tessera.DatanetRecord]) -> None:
    table = Table("id", "name", "license", "owner", "batches", "contributions")
    for r in records:
        table.add_row(
            str(r.id), r.name, r.license, r.owner, str(r.batch_count), str(r.contribution_count)
        )
    console.print(
        table if records else "no datanets yet: `tessera datanet create NAME --license ID`"
    )


def datanet_detail(d: tessera.DatanetDetail, with_cids: bool = False) -> None:
    r = d.record
    console.print(f"datanet {r.name} (#{r.id})  license {r.license}  owner {r.owner}")
    if d.metadata.get("description"):
        console.print(f"  {d.metadata['description']}")
    console.print(
        f"  {r.contribution_count} contributions in {r.batch_count} batches, "
        f"{len(d.contributors)} contributors, metadata {r.metadata_cid}"
    )
    people = Table("contributor", "contributions")
    for who, count in sorted(d.contributors.items(), key=lambda kv: -kv[1]):
        people.add_row(who, str(count))
    console.print(people)
    batches = Table("batch", "leaves", "contributors", "block", "time (UTC)", "manifest")
    for b in d.batches:
        batches.add_row(
            str(b.id),
            str(b.leaf_count),
            str(b.contributor_count),
            str(b.block_number),
            _time(b.timestamp),
            b.content_uri,
        )
    console.print(batches)
    if with_cids:
        listing = Table("cid", "contributor", "batch", "leaf")
        for item in d.contributions:
            listing.add_row(item.cid, item.contributor, str(item.batch), str(item.leaf_index))
        console.print(listing)
    if d.unavailable_batches:
        console.print(f"  manifests not in the local store for batches {d.unavailable_batches}")


def ingest_report(r: tessera.IngestReport) -> None:
    console.print(
        f"{r.registered} new contributions registered to {r.datanet} in "
        f"{len(r.batches)} batch(es) {r.batches} ({r.gas_used} gas)"
    )
    if r.already_in_datanet:
        console.print(f"{len(r.already_in_datanet)} chunk(s) already in {r.datanet}: skipped")
    if r.repeated_in_input:
        console.print(f"{r.repeated_in_input} chunk(s) repeated in the input: registered once")


def proof(p: tessera.ContributionProof) -> None:
    status = "VERIFIED by the registry contract" if p.verified_on_chain else "NOT VERIFIED"
    console.print(f"contribution {p.cid}: {status}")
    console.print(f"  contributor {p.contributor}")
    console.print(f"  datanet     {p.datanet} (#{p.datanet_id})")
    console.print(
        f"  batch       #{p.batch.id}, leaf {p.leaf_index} of {p.batch.leaf_count}, "
        f"root 0x{p.batch.root.hex()}"
    )
    console.print(f"  block       {p.batch.block_number} at {p.time}")
    console.print(f"  proof       {len(p.proof)} sibling hashes")


def node_serving(node: tessera.Node) -> None:
    service = node.service
    console.print(
        f"node {service.node_key.address} serving {service.config.model_id} at "
        f"http://{service.config.host}:{service.config.port}/v1 "
        f"({len(service.vectors)} contributions indexed)"
    )


def answer(result: tessera.AskResult) -> None:
    console.print(result.text)
    table = Table("weight", "contributor", "datanet", "contribution")
    for s in result.sources:
        table.add_row(f"{s['weight']:.3f}", s["contributor"], s["datanet"], s["cid"])
    console.print(table)
    for cid in result.withheld:
        console.print(f"withheld {cid}: blocked by the network's content policy (governance)")
    if result.saved:
        console.print(f"receipt {result.saved} (verified signature)")


def receipt_ok(r: tessera.Receipt, offline: bool) -> None:
    where = "signature and hashes" if offline else "signature, hashes and chain state"
    console.print(f"receipt {r.id}: VALID ({where})")
    console.print(
        f"  node {r.node}, model {r.model}, price {r.price}, "
        f"{len(r.attribution)} attributed contribution(s)"
    )
    for a in r.attribution:
        console.print(f"  {a.weight_ppm / 1e6:.3f} {a.contributor} {a.cid}")
    if r.training:
        console.print(
            f"  trained on {len(r.training)} contribution(s); "
            f"{r.training_share_ppm / 1e6:.3f} of the contributors' pool is theirs"
        )
    for a in r.training:
        held = " (blocked: withheld)" if a.cid in r.withheld else ""
        console.print(f"  {a.weight_ppm / 1e6:.3f} {a.contributor} {a.cid}{held}")


def eval_table(result: dict[str, Any]) -> None:
    table = Table(
        "method",
        "questions",
        "answer acc.",
        "retrieval recall",
        "top-1 attribution",
        "support recall",
        "overhead",
        title="attribution benchmark",
    )
    rows = [("ours (masked-document ablation)", result)]
    rows += [(name, body) for name, body in result["baselines"].items() if body]
    cited = result["baselines"].get("contextcite")
    if cited:
        rows.append(
            (
                "ours, on ContextCite's questions",
                cited["ours_on_the_same_questions"] | {"questions": cited["questions"]},
            )
        )
    for name, body in rows:
        table.add_row(
            name,
            str(body.get("questions", result["questions"])),
            _fmt(body["answer_accuracy"]),
            _fmt(body["retrieval_recall"]),
            _fmt(body["top1_attribution_accuracy"]),
            _fmt(body["support_recall"]),
            _fmt(body["attribution_overhead"], "x"),
        )
    console.print(table)


def tsr(units: int) -> str:
    return f"{tessera.format_tsr(units)} TSR"


def when(timestamp: int) -> str:
    return _time(timestamp) + " UTC"


def wallet(w: tessera.Wallet) -> None:
    console.print(f"{w.address}: {tsr(w.tokens)} held, {tsr(w.escrow)} in escrow")
    for c in w.channels:  # one line each, so an address is never wrapped
        pending = f", withdrawing {tsr(c.withdrawing)} from {when(c.available_at)}"
        console.print(
            f"  channel to {c.node}: {tsr(c.balance)}" + (pending if c.withdrawing else "")
        )


def settled(r: tessera.SettleResult | None) -> None:
    if r is None:
        console.print("nothing to settle: no delivered, paid answers since the last epoch")
        return
    how = f"posted, {r.gas:,} gas" if r.gas is not None else "already on chain (resumed)"
    console.print(
        f"epoch {r.epoch}: {r.receipts} receipts, {tsr(r.redeemed)} redeemed from vouchers; "
        f"root {r.root} ({how})\n  bundle {r.bundle_cid}; cumulative payouts {tsr(r.total)}"
    )


def uncollectable(status: tessera.SettlementStatus) -> None:
    total = sum(u.owed for u in status.uncollectable)
    err_console.print(
        f"[bold red]{len(status.uncollectable)} client(s) owe {tsr(total)} that this node "
        "cannot redeem now[/]; the receipts are kept and retried every epoch:"
    )
    for u in status.uncollectable:
        err_console.print(
            f"  {u.client}: {u.receipts} receipts, {tsr(u.owed)} ({u.reason}): {u.detail}"
        )


def settlement_status(s: tessera.SettlementStatus) -> None:
    console.print(
        f"node {s.node}\n  database {s.database}\n  epochs posted {s.epochs_posted}"
        + (f", {s.epochs_built} built and waiting to post" if s.epochs_built else "")
        + f"\n  unsettled: {s.unsettled_receipts} receipts, {tsr(s.unsettled_amount)}"
        + ("" if s.next_due <= s.now else f"; next epoch from chain time {s.next_due}")
    )
    if s.ok:
        console.print("  every unsettled receipt can be redeemed")
    else:
        uncollectable(s)


def claims(results: list[tessera.ClaimResult]) -> None:
    if not results:
        console.print("nothing to claim now (see `tessera earnings` for what is pending)")
    for c in results:
        console.print(f"claimed {tsr(c.amount)} from node {c.node} through epoch {c.epoch}")


def earnings(e: tessera.Earnings, datanet_names: dict[int, str]) -> None:
    table = Table(
        "node", "epoch", "answers", "earned", "as", "status", title=f"earnings of {e.account}"
    )
    for row in e.epochs:
        roles = ", ".join(
            f"{role} {tessera.format_tsr(a)}" for role, a in sorted(row.by_role.items())
        )
        status = (
            row.status
            if row.status != "in challenge window"
            else (f"claimable from {when(row.claimable_at)}")
        )
        table.add_row(row.node, str(row.epoch), str(row.answers), tsr(row.amount), roles, status)
    console.print(table)
    for name, part in (("datanet", e.by_datanet()), ("model", e.by_model())):
        for key, amount in sorted(part.items(), key=lambda kv: str(kv[0])):
            label = datanet_names.get(key, f"#{key}") if isinstance(key, int) else key
            console.print(f"  {name} {label}: {tsr(amount)}")
    kinds = e.by_kind()
    for kind, says in (("context", "documents in answers' prompts"),
                       ("training", "data adapters were trained on")):  # fmt: skip
        if kind in kinds:
            console.print(f"  as {kind} data ({says}): {tsr(kinds[kind])}")
    console.print(
        f"total {tsr(e.total())}: claimed {tsr(e.total('claimed'))}, claimable "
        f"{tsr(e.total('claimable'))}, in challenge window {tsr(e.total('in challenge window'))}"
    )


def audit(r: tessera.AuditReport) -> None:
    verdict = "OK" if r.ok else "MISMATCH"
    console.print(
        f"epoch {r.epoch} of node {r.node}: {verdict}\n  {r.receipts} receipts re-verified, "
        f"{tsr(r.redeemed)} redeemed; bundle {r.bundle_cid}\n  root on chain   {r.root_on_chain}"
        f"\n  root recomputed {r.root_recomputed}"
    )
    for problem in r.problems:
        console.print(f"  problem: {problem}")
    for c in r.challenges:
        console.print(
            f"  challenge {getattr(c, 'id', '?')}: receipt {getattr(c, 'index', '?')} "
            f"({getattr(c, 'kind_name', '?')}) by {getattr(c, 'challenger', '?')}: "
            f"{getattr(c, 'status_name', '?')}"
        )
    if not r.challenges:
        console.print("  challenges: none")


def training_eval_table(result: dict[str, Any]) -> None:
    accuracy = result["answer_accuracy"]
    console.print(
        f"closed-book answer accuracy: adapter {accuracy['adapter']:.3f}, base "
        f"{accuracy['base']:.3f} over {result['questions']} questions; "
        f"{result['learned']} answers learned from training (right from the adapter only)"
    )
    table = Table("method", "top-1 attribution", "recall@3", title="training attribution")
    rows = [("ours (span match x adapter gain)", result), *result["baselines"].items()]
    for name, body in rows:
        table.add_row(name, _fmt(body["top1_attribution_accuracy"]), _fmt(body["recall_at_3"]))
    console.print(table)
    console.print(f"overhead: {_fmt(result['attribution_overhead'], 'x')} (with ÷ without)")
    brittle = result.get("brittleness")
    if brittle:
        console.print(
            f"brittleness over {brittle['questions']} answers: lost without the top "
            f"contribution {_fmt(brittle['lost_without_top'])}, without a random one "
            f"{_fmt(brittle['lost_without_random'])} ({brittle['retrains']} retrains); "
            f"lost without the top where one document is the support "
            f"{_fmt(brittle['lost_without_top_single_support'])}"
        )


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.3f}{unit}"


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def progress_bar() -> Iterator[tessera.Progress]:
    """A progress bar on stderr, only drawn on a terminal, so pipes stay clean."""
    bar = Progress(
        "contributing",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )
    with bar:
        task = bar.add_task("contribute", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance

"""Validation on the real default model: no honest answer is ever found faulty, every cheater is
caught when sampled, the chance a sample catches a liar, and what checking costs against
serving, all measured in the same run.

    python bench/verify.py                   # >= 1,000 honest answers (~100 min on 2 CPUs)
    python bench/verify.py --answers 200     # fewer honest answers
    python bench/verify.py --cheat NAME      # one cheater (or `all`), judged on chain
    python bench/verify.py --model DIR       # any local model folder (a tiny one: smoke test)
    python bench/verify.py --corpus C.jsonl --questions Q.jsonl   # another planted-fact set

Honest: one node (torch at NODE_THREADS threads, its engine's oneDNN kernels) answers
`--answers` distinct paid requests, the first half from 8 concurrent clients (batched), the
rest one at a time (alone), and settles them as one epoch. A validator (its own copy of the
weights, at VALIDATOR_THREADS threads) first runs its daemon's turn at the
default sampling rate (the cost figure), then re-checks every receipt: any proven fault is a
false fault. The largest honest deviations are measured against the tolerances.

Cheat: one node per lie, each answering `--cheat-answers` requests (lying on about half, or on
its one epoch), settles; two validators re-check at `--rate` (default 1: every answer),
challenge, vote and resolve on chain. Detection rate: sampled lies challenged with the lie's
kind and slashed, over sampled lies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
SHARED = BENCH.parents[1] / "shared" / "benchmarks" / "attribution-dev"
NODE_THREADS, VALIDATOR_THREADS = 2, 1
BATCHED_CLIENTS = 8
CHEAT_RATES = {"skewed-payouts": 1.0, "withheld-bundle": 1.0}  # epoch lies: on its one epoch
ANSWER_LIE_RATE = 0.5  # answer lies: about half, so honest answers sit beside them
PAIR_LIES = ("replayed-authorization",)  # two receipts make the lie: every bundle is scanned
VALIDATOR_STAKE, VALIDATOR_FUNDS = 1_000 * 10**18, 10_000 * 10**18
VALIDATOR_ADDRESSES = tuple("0x" + f"{i:02x}" * 20 for i in range(1, 4))  # for the simulation
HONEST_BAR = 1000  # honest answers re-checked with no fault found
COST_BAR, DETECTION_BAR, DETECTION_FRACTION, DETECTION_EPOCH = 0.1, 0.99, 0.05, 1000


# honest answers ------------------------------------------------------------------------------


def honest_section(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import torch
    from verify_world import (
        ask_all,
        cpu_seconds,
        open_home,
        read_workload,
        requests_for,
        serve,
        settle,
    )

    from tessera import ValidatorConfig, build_validator
    from tessera._models import load_embedder, load_generator
    from tessera._node.runtime import build_node

    texts, questions = read_workload(args.corpus, args.questions)
    t = open_home(root, texts, BATCHED_CLIENTS)
    torch.set_num_threads(NODE_THREADS)
    generator, embedder = load_generator(args.model), load_embedder()
    live = serve(
        t,
        "operator",
        lambda config: build_node(t.node_parts("operator"), config, generator, embedder),
        BATCHED_CLIENTS,
    )
    requests = requests_for(questions, args.answers)
    half = len(requests) // 2
    print(f"asking {half} batched ({BATCHED_CLIENTS} clients), then {len(requests) - half} alone")
    batched = ask_all(t, live.url, requests[:half], BATCHED_CLIENTS)
    alone = ask_all(t, live.url, requests[half:], 1)
    bundle = settle(live)
    t.chain.wait_until(t.chain.now() + 1)  # the block after the post fixes the sample

    torch.set_num_threads(VALIDATOR_THREADS)
    t.new_account("validator")
    t.transfer(VALIDATOR_FUNDS, "validator")
    t.stake_validator(VALIDATOR_STAKE, "validator")
    config = ValidatorConfig(model_path=args.model, follow_interval_s=3600)  # default rate
    own = load_generator(args.model)  # the node's engine rewrote its copy's layers
    runtime = build_validator(t.validator_parts("validator"), config, own, load_embedder())
    try:
        began, cpu = time.perf_counter(), cpu_seconds()
        turn = runtime.validator.tick()
        daemon = {
            "sample_rate": config.sample_rate,
            "receipts_checked": turn.receipts_checked,
            "epochs_checked": turn.epochs_checked,
            "challenges_opened": len(turn.challenges_opened),
            "problems": turn.problems,
            "cpu_s": cpu_seconds() - cpu,
            "wall_s": time.perf_counter() - began,
        }
        batched_ids = {r.id for r in batched.receipts}
        rechecks = [
            _recheck(runtime.rechecker, r, live.address, r.id in batched_ids)
            for r in bundle.receipts
        ]
    finally:
        runtime.close()
        live.stop()
        t.close()
    return _honest_figures(batched, alone, daemon, rechecks, len(bundle.receipts))


def _recheck(rechecker: Any, receipt: Any, node: str, batched: bool) -> dict[str, Any]:
    """One receipt re-checked as the daemon does, timed; then what it measured, read back."""
    import torch

    from tessera._attribution.weights import to_ppm
    from tessera._validator.attribution_check import attributor_named
    from tessera._validator.finding import proven

    began, cpu = time.perf_counter(), time.thread_time()  # one torch thread: this one
    findings, transcript = rechecker.inspect(receipt, node)
    row: dict[str, Any] = {
        "batched": batched,
        "wall_s": time.perf_counter() - began,
        "cpu_s": time.thread_time() - cpu,
        "faults": [f.detail for f in proven(findings)],
        "inconclusive": [f.detail for f in findings if f.inconclusive],
        "tokens": len(receipt.answer_tokens),
        "gap": 0.0,
        "margin": None,
        "weight_ppm": 0,
    }
    answer = receipt.answer_tokens
    if transcript is not None and transcript.forced is not None and answer:
        forced = transcript.forced
        row["gap"] = float(forced.gaps(answer).max())
        top2 = torch.topk(forced.logits[: len(answer)], 2, dim=-1).values
        row["margin"] = float((top2[:, 0] - top2[:, 1]).min())
    method = attributor_named(receipt.method)
    if transcript is not None and transcript.effects is not None and method is not None:
        row["weight_ppm"] = _weight_diff(receipt, to_ppm(method.weights(transcript.effects)))
    return row


def _weight_diff(receipt: Any, recomputed: list[int]) -> int:
    """The most any document's credited weight (ppm) differs from the recomputed one."""
    from tessera._validator.attribution_check import weights_by_document

    pairs = weights_by_document(receipt.context, receipt.attribution, recomputed).values()
    return max((abs(got - want) for got, want in pairs), default=0)


def _honest_figures(
    batched: Any, alone: Any, daemon: dict[str, Any], rows: list[dict[str, Any]], settled: int
) -> dict[str, Any]:
    from tessera._validator.tolerances import LOGIT_TOLERANCE, WEIGHT_TOLERANCE_PPM

    node_cpu = {  # the process's CPU while serving, less the clients' own threads
        "batched": batched.cpu_s - batched.client_cpu_s,
        "alone": alone.cpu_s - alone.client_cpu_s,
    }
    per_answer_cpu = node_cpu["alone"] / max(1, len(alone.latencies))
    recheck_cpu = statistics.median(r["cpu_s"] for r in rows)
    epoch_cpu = node_cpu["batched"] + node_cpu["alone"]
    ratio = daemon["cpu_s"] / epoch_cpu
    margins = [r["margin"] for r in rows if r["margin"] is not None]
    faults = [r for r in rows if r["faults"]]
    return {
        "answers": {
            "settled": settled,
            "batched": len(batched.latencies),
            "alone": len(alone.latencies),
            "rechecked": len(rows),
            "answer_tokens": sum(r["tokens"] for r in rows),
        },
        "threads": {"node": NODE_THREADS, "validator": VALIDATOR_THREADS},
        "false_faults": len(faults),
        "false_fault_examples": [r["faults"][0] for r in faults[:5]],
        "inconclusive": sum(bool(r["inconclusive"]) for r in rows),
        "inconclusive_examples": [r["inconclusive"][0] for r in rows if r["inconclusive"]][:5],
        "deviation": {
            "largest_logit_gap": max(r["gap"] for r in rows),
            "logit_tolerance": LOGIT_TOLERANCE,
            "smallest_top2_margin": min(margins) if margins else None,
            "largest_weight_diff_ppm": max(r["weight_ppm"] for r in rows),
            "weight_tolerance_ppm": WEIGHT_TOLERANCE_PPM,
            "by_mode": {
                mode: {
                    "answers": sum(r["batched"] == is_batched for r in rows),
                    "largest_logit_gap": max(
                        (r["gap"] for r in rows if r["batched"] == is_batched), default=0.0
                    ),
                    "largest_weight_diff_ppm": max(
                        (r["weight_ppm"] for r in rows if r["batched"] == is_batched), default=0
                    ),
                }
                for mode, is_batched in (("batched", True), ("alone", False))
            },
        },
        "cost": {
            "recheck_wall_s_p50": statistics.median(r["wall_s"] for r in rows),
            "answer_alone_wall_s_p50": statistics.median(alone.latencies),
            "recheck_cpu_s_p50": recheck_cpu,
            "answer_alone_cpu_s_mean": per_answer_cpu,
            "recheck_vs_answer_cpu": recheck_cpu / per_answer_cpu,
            "recheck_vs_answer_wall": statistics.median(r["wall_s"] for r in rows)
            / statistics.median(alone.latencies),
            "node_epoch_cpu_s": epoch_cpu,
            "node_cpu_s": node_cpu,
            "clients_cpu_s": batched.client_cpu_s + alone.client_cpu_s,
            "validator_turn": daemon,
            "validator_vs_node_cpu": ratio,
            "validators_within_bar": int(COST_BAR // ratio) if ratio > 0 else None,
            "bar": COST_BAR,
            "met": ratio <= COST_BAR,
        },
    }


# detection per epoch -------------------------------------------------------------------------


def detection_section(trials: int) -> dict[str, Any]:
    """The formula at the default rate, and the daemon's own sampler drawn `trials` times
    against a fresh random 5% of liars each time."""
    from tessera._validator.sampling import (
        DEFAULT_SAMPLE_RATE,
        miss_probability,
        rate_to_catch,
        sample_size,
        stake_share,
        union_miss_probability,
    )

    n, rate = DETECTION_EPOCH, DEFAULT_SAMPLE_RATE
    liars, m = round(DETECTION_FRACTION * n), sample_size(n, DEFAULT_SAMPLE_RATE)
    rng, node = random.Random(14), "0x" + "ab" * 20
    began = time.perf_counter()
    caught = _simulated(rng, node, trials, liars, [(rate, VALIDATOR_ADDRESSES[0])])
    formula = 1 - miss_probability(n, liars, m)
    shared = {}  # the network's rate split by stake over equal validators, each drawing its own
    for count in (2, 3):
        share = stake_share(rate, 1, count)
        sizes = [sample_size(n, share)] * count
        shared[str(count)] = {
            "rate_each": share,
            "sampled_each": sizes[0],
            "p_caught_formula": 1 - union_miss_probability(n, liars, sizes),
            "p_caught_simulated": _simulated(
                rng, node, trials, liars, [(share, v) for v in VALIDATOR_ADDRESSES[:count]]
            ),
        }
    return {
        "epoch_receipts": n,
        "lying_receipts": liars,
        "sample_rate": rate,
        "sampled": m,
        "formula": "P(caught) = 1 - C(n - liars, m) / C(n, m)",
        "p_caught_formula": formula,
        "p_caught_simulated": caught,
        "trials": trials,
        "simulated_standard_error": (caught * (1 - caught) / trials) ** 0.5,
        "smallest_rate_for_bar": rate_to_catch(n, DETECTION_FRACTION, DETECTION_BAR),
        "validators_sharing_the_rate": shared,
        "bar": DETECTION_BAR,
        "met": formula >= DETECTION_BAR
        and caught >= DETECTION_BAR
        and all(
            min(v["p_caught_formula"], v["p_caught_simulated"]) >= DETECTION_BAR
            for v in shared.values()
        ),
        "seconds": time.perf_counter() - began,
    }


# cheaters ------------------------------------------------------------------------------------


def cheat_section(args: argparse.Namespace, root: Path, names: list[str]) -> dict[str, Any]:
    from verify_world import judge, open_home, read_workload, requests_for, serve, settle

    from tessera import ValidatorConfig, build_validator
    from tessera._models import load_embedder, load_generator
    from tessera._node.byzantine import build_byzantine_node

    texts, questions = read_workload(args.corpus, args.questions)
    asked = requests_for(questions, args.cheat_answers)
    t = open_home(root, texts, len(asked))  # one client per answer: see _ask_each_once
    generator, embedder = load_generator(args.model), load_embedder()
    nodes, bundles = {}, {}
    try:
        for lie in names:
            rate = CHEAT_RATES.get(lie, ANSWER_LIE_RATE)

            def build(config: Any, lie: str = lie, rate: float = rate) -> Any:
                parts = t.node_parts(lie)
                return build_byzantine_node(parts, config, lie, rate, generator, embedder, seed=3)

            nodes[lie] = serve(t, lie, build, len(asked))
            # an invented receipt bills its client past what that client's voucher covers
            # for a further request: each client asks each node once
            for i, request in enumerate(asked):
                _ask_as(t, nodes[lie].url, request, i)
            bundles[lie] = settle(nodes[lie])
            print(f"{lie}: {len(bundles[lie].receipts)} receipts settled", flush=True)
        t.chain.wait_until(t.chain.now() + 1)
        own = load_generator(args.model)
        validators = []
        config = ValidatorConfig(
            model_path=args.model, sample_rate=args.rate, follow_interval_s=3600
        )
        for name in ("validator-1", "validator-2"):
            t.new_account(name)
            t.transfer(VALIDATOR_FUNDS, name)  # a stake, and a bond for every lie
            t.stake_validator(VALIDATOR_STAKE, name)
            validators.append(build_validator(t.validator_parts(name), config, own, embedder))
        began = time.perf_counter()
        judge(t, [v.validator for v in validators])
        judged_s = time.perf_counter() - began
        checkers = [v.validator.address for v in validators]
        rows = [_caught(t, lie, nodes[lie], bundles[lie], args.rate, checkers) for lie in names]
        for v in validators:
            v.close()
    finally:
        for live in nodes.values():
            live.stop()
        t.close()
    return {"rate": args.rate, "answers_per_node": len(asked), "judged_s": judged_s, "rows": rows}


def _ask_as(t: Any, url: str, request: tuple[str, int | None], client: int) -> None:
    from tessera._client import NodeClient

    http = NodeClient(url, payer=t.payer(f"client-{client}"))
    try:
        http.ask(request[0], max_tokens=request[1])
    finally:
        http.close()


def _simulated(
    rng: random.Random, node: str, trials: int, liars: int, checkers: list[tuple[float, str]]
) -> float:
    """How often the daemon's samples (rate, validator), drawn from fresh random seeds, hold
    at least one of a fresh random set of `liars` lies in a DETECTION_EPOCH-receipt epoch."""
    from tessera._validator.sampling import sample

    n, missed = DETECTION_EPOCH, 0
    for trial in range(trials):
        lying, seed = set(rng.sample(range(n), liars)), rng.randbytes(32)
        picked = set().union(*(sample(seed, node, trial, n, r, v) for r, v in checkers))
        missed += not lying & picked
    return 1 - missed / trials


def _caught(
    t: Any, lie: str, live: Any, bundle: Any, rate: float, validators: list[str]
) -> dict[str, Any]:
    """The lie's truth (its node's book) against what the validators challenged and won."""
    from tessera._chain.disputes import KIND_NAMES, SLASHED
    from tessera._node.byzantine import CAUGHT_AS
    from tessera._validator.sampling import epoch_seed, sample

    node, book = live.address, live.node.book
    posted = t.settlement.epoch(node, 0)
    seed = epoch_seed(t.chain, posted.posted_block)
    assert seed is not None
    count = posted.receipt_count
    picked = set().union(*(sample(seed, node, 0, count, rate, v) for v in validators))
    if lie in PAIR_LIES:  # found by the scan of the whole bundle, sampled or not
        picked = set(range(count))
    challenges = t.challenges(node)
    kind = {"authorization": "unauthorized"}.get(CAUGHT_AS[lie], CAUGHT_AS[lie])
    won = [c for c in challenges if c.status == SLASHED and KIND_NAMES[c.kind] == kind]
    if lie in CHEAT_RATES:  # an epoch lie: the epoch is sampled whenever any receipt is
        told, sampled, caught = len(book.epochs), len(book.epochs), min(1, len(won))
        wrong = len(challenges) - len(won)
    else:
        lied = {i for i, r in enumerate(bundle.receipts) if r.id in book.receipts}
        told, sampled = len(lied), len(lied & picked)
        caught = len(lied & picked & {c.index for c in won})
        wrong = sum(c.index not in lied for c in challenges)
    return {
        "cheat": lie,
        "caught_as": kind,
        "answers": len(bundle.receipts),
        "lies_told": told,
        "lies_sampled": sampled,
        "lies_caught": caught,
        "detection_rate": caught / sampled if sampled else None,
        "challenges_against_honest_answers": wrong,
        "slashed_tokens": t.staking.slashed(node),
        "epoch_voided": t.settlement.is_voided(node, 0),
    }


# output --------------------------------------------------------------------------------------


def honest_tables(h: dict[str, Any], d: dict[str, Any]) -> list[Table]:
    a, dev, cost = h["answers"], h["deviation"], h["cost"]
    zero = Table(title="zero false faults: honest answers re-checked (node 2 threads, validator 1)")
    for col in ("answers", "batched", "alone", "faults", "inconclusive"):
        zero.add_column(col, justify="right")
    zero.add_row(
        str(a["rechecked"]), str(a["batched"]), str(a["alone"]),
        str(h["false_faults"]), str(h["inconclusive"]),
    )  # fmt: skip
    deviation = Table(title="largest honest deviation vs the tolerance")
    for col in ("measure", "largest seen", "tolerance", "tolerance / seen"):
        deviation.add_column(col, justify="right")
    gap, ppm = dev["largest_logit_gap"], dev["largest_weight_diff_ppm"]
    deviation.add_row(
        "answer token behind the top logit", f"{gap:.3g}", str(dev["logit_tolerance"]),
        f"{dev['logit_tolerance'] / gap:.0f}x" if gap else "never behind",
    )  # fmt: skip
    deviation.add_row(
        "attribution weight (ppm)", str(ppm), str(dev["weight_tolerance_ppm"]),
        f"{dev['weight_tolerance_ppm'] / ppm:.0f}x" if ppm else "never moved",
    )  # fmt: skip
    costs = Table(title="cost: validation against serving, same run")
    for col in ("measure", "validator", "node", "ratio"):
        costs.add_column(col, justify="right")
    costs.add_row(
        "one answer, CPU s (p50 re-check / mean alone)",
        f"{cost['recheck_cpu_s_p50']:.3f}", f"{cost['answer_alone_cpu_s_mean']:.3f}",
        f"{cost['recheck_vs_answer_cpu']:.2f}",
    )  # fmt: skip
    costs.add_row(
        "one answer, wall s (p50)",
        f"{cost['recheck_wall_s_p50']:.3f}", f"{cost['answer_alone_wall_s_p50']:.3f}",
        f"{cost['recheck_vs_answer_wall']:.2f}",
    )  # fmt: skip
    turn = cost["validator_turn"]
    costs.add_row(
        f"the epoch, CPU s (daemon at rate {turn['sample_rate']})",
        f"{turn['cpu_s']:.1f}", f"{cost['node_epoch_cpu_s']:.1f}",
        f"{cost['validator_vs_node_cpu']:.3f}",
    )  # fmt: skip
    lies = f"{d['lying_receipts']} lies in {d['epoch_receipts']}"
    detect = Table(title=f"detection per epoch: {lies}")
    cols = ("validators", "rate each", "sampled each", "P(caught) formula", "simulated")
    for col in cols:
        detect.add_column(col, justify="right")
    detect.add_row(
        "1", str(d["sample_rate"]), str(d["sampled"]), f"{d['p_caught_formula']:.4f}",
        f"{d['p_caught_simulated']:.4f}",
    )  # fmt: skip
    for count, v in d.get("validators_sharing_the_rate", {}).items():
        detect.add_row(
            count, f"{v['rate_each']:.4f}", str(v["sampled_each"]),
            f"{v['p_caught_formula']:.4f}", f"{v['p_caught_simulated']:.4f}",
        )  # fmt: skip
    detect.caption = (
        f"{d['trials']} trials each; smallest single rate for {d['bar']}: "
        f"{d['smallest_rate_for_bar']:.3f}"
    )
    return [zero, deviation, costs, detect]


def cheat_table(c: dict[str, Any]) -> Table:
    table = Table(title=f"cheaters: {c['answers_per_node']} answers each, sampled at {c['rate']}")
    cols = ("cheat", "caught as", "lies", "sampled", "caught", "rate", "wrong", "slashed", "voided")
    for col in cols:
        table.add_column(col, justify="right")
    for r in c["rows"]:
        rate = "-" if r["detection_rate"] is None else f"{r['detection_rate']:.2f}"
        table.add_row(
            r["cheat"], r["caught_as"], str(r["lies_told"]), str(r["lies_sampled"]),
            str(r["lies_caught"]), rate, str(r["challenges_against_honest_answers"]),
            f"{r['slashed_tokens'] / 10**18:g} TSR", "yes" if r["epoch_voided"] else "no",
        )  # fmt: skip
    return table


def main() -> int:
    from tessera._node.byzantine import LIES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1000, help="honest answers re-checked")
    parser.add_argument("--cheat", help=f"one of {', '.join(LIES)}, or all")
    parser.add_argument("--cheat-answers", type=int, default=12, help="answers per cheater")
    parser.add_argument("--rate", type=float, default=1.0, help="cheat mode's sampling rate")
    parser.add_argument("--trials", type=int, default=20_000, help="detection simulation draws")
    parser.add_argument("--model", help="a local model folder (default: Gemma 3 270M)")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--out", type=Path, help="default: bench/results/verify[-cheat].json")
    args = parser.parse_args()
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    console = Console(width=120)
    from tessera._chain.mined_index import indexed_transactions

    # nothing here reverts the in-process chain: each mined transaction is looked up once
    with indexed_transactions(), tempfile.TemporaryDirectory(prefix="tessera-verify-") as scratch:
        if args.cheat:
            names = list(LIES) if args.cheat == "all" else [args.cheat]
            if not set(names) <= set(LIES):
                parser.error(f"--cheat: choose one of {', '.join(LIES)}, or all")
            result: dict[str, Any] = {"cheat": cheat_section(args, Path(scratch), names)}
            rows = result["cheat"]["rows"]
            rates = [r["detection_rate"] for r in rows]
            sampled_ok = all(r["lies_sampled"] > 0 for r in rows)
            clean = all(r["challenges_against_honest_answers"] == 0 for r in rows)
            result["met"] = sampled_ok and clean and all(rate == 1.0 for rate in rates)
            console.print(cheat_table(result["cheat"]))
            default_out = BENCH / "results" / "verify-cheat.json"
        else:
            detection = detection_section(args.trials)
            honest = honest_section(args, Path(scratch))
            result = {"honest": honest, "detection": detection}
            result["met"] = (
                honest["false_faults"] == 0
                and honest["answers"]["rechecked"] >= HONEST_BAR  # fewer: the bar is not met
                and detection["met"]
                and honest["cost"]["met"]
            )
            for table in honest_tables(honest, detection):
                console.print(table)
            default_out = BENCH / "results" / "verify.json"
    result["model"] = args.model or "gemma-3-270m (default)"
    result["workload"] = [str(args.corpus), str(args.questions)]
    out = args.out or default_out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"bars {'met' if result['met'] else 'NOT met'}; figures in {out}")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

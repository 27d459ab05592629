"""A node serving 100 published adapters to paying clients, against its base model, same run.

    python bench/adapters_node.py             # the default Gemma 3 270M, about 15 minutes on 2 CPUs
    python bench/adapters_node.py --quick     # fewer requests per phase
    python bench/adapters_node.py --model DIR # any local model folder (a tiny one: a smoke test)

Issue 15's setting, end to end: one home on an in-process chain with a datanet of the demo
corpus; bench/adapters.py's 100 random rank-8 adapters on every linear layer of the base, each
imported and published as `tessera model import` and `tessera model publish` do (files in the
store by CID, a version in the model registry); a node built with `--adapters all`, payments
on, served on a loopback port the OS picked; 8 client accounts, each with its own funded
channel. Every request is a paid chat completion: retrieval (top 3), generation, attribution,
a signed receipt, checked by the client. Every answer is 16 tokens (`ignore_eos`, and the node
has no stop string), so base and adapters do the same work per request.

Phases:
- cold loads: each of the 100 published versions fetched from the node's store by CID
  (blocks and folder checked), read and loaded into the bank, through the node's own
  ServedAdapters, before any request;
- base and adapters: closed-loop clients at concurrency 8, the same questions, `model` the
  base or a random one of the 100 adapters, alternating round by round so that on shared cores
  each sees the machine at about the same time;
- tail latency at concurrency 1, base and adapters (a new mix of adapters on every request).

The node runs in this process (a uvicorn thread), as a test's live node does; the clients'
HTTP and signing share its cores, the same for both phases.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from adapters import DEMO, options, percentiles, print_bars, write_adapters
from network import Served, bound_listener
from rich.console import Console
from rich.table import Table

from tessera import NodeClient, NodeConfig, Tessera, build_node
from tessera._models import default_gemma_dir, load_generator
from tessera._models.adapter import base_linear_layers
from tessera._payments.payer import Payer

ADAPTERS, CLIENTS, ANSWER_TOKENS = 100, 8, 16
SIZES = {
    "full": {"c8": 48, "round": 16, "c1": 16},
    "quick": {"c8": 16, "round": 8, "c1": 6},
}


@dataclasses.dataclass
class Bench:
    t: Tessera
    node: Any
    served: Served
    payers: list[Payer]
    questions: list[str]
    adapters: list[str]  # model ids
    base: str


def published_adapters(t: Tessera, model: Path, root: Path) -> list[str]:
    """ADAPTERS random adapters, each imported and published by the home's account."""
    folders = write_adapters(base_linear_layers(model), root / "written", ADAPTERS)
    names, began = [], time.perf_counter()
    for n, folder in enumerate(folders):
        name = f"bench-{n:03d}"
        t.import_adapter(folder, name, ["facts"], base=model)
        t.factory.publish(t.signer(), name)
        names.append(name)
    print(f"published {ADAPTERS} adapters in {time.perf_counter() - began:.0f} s", flush=True)
    return names


def clients(t: Tessera, node: str, root: Path) -> list[Payer]:
    """CLIENTS accounts, each with a funded channel to `node` and a ledger of its own."""
    payers = []
    for n in range(CLIENTS):
        name = f"client-{n}"
        t.new_account(name)
        t.transfer(10**21, name)
        t.deposit(10**20, node, account=name)
        payers.append(
            Payer(
                t.signer(name),
                t.chain.chain_id,
                t.settlement.address,
                root / f"channels-{n}.json",
                t.config.deployment.registry,
            )
        )
    return payers


def start(model: str | None, root: Path) -> Bench:
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    t = Tessera.init(root / "home", chain="inprocess", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    docs = [json.loads(x) for x in (DEMO / "corpus.jsonl").read_text().splitlines() if x.strip()]
    (root / "facts.jsonl").write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in docs))
    t.contribute("facts", [root / "facts.jsonl"])
    base = Path(model) if model else default_gemma_dir()
    names = published_adapters(t, base, root)
    listener = bound_listener()
    config = NodeConfig(
        datanets=("facts",),
        model_path=model,
        port=listener.getsockname()[1],
        max_batch=CLIENTS,
        stop=(),  # answers run their whole budget: the same work per request
        adapters=("all",),
        adapter_rank=8,
        adapter_memory_mib=1024,  # 141 slots of rank 8 on the default model: all 100 resident
        follow_interval_s=3600,
        settle_check_s=None,  # no epoch is settled while we time answers
    )
    node = build_node(t.node_parts(), config, load_generator(model))
    served = Served(node.app, listener)
    lines = (DEMO / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(x)["question"] for x in lines if x.strip()]
    payers = clients(t, t.address(), root)
    return Bench(t, node, served, payers, questions, names, config.model_id)


def cold_loads(bench: Bench) -> list[float]:
    """Each published version through the node's ServedAdapters: fetch, check, read, load."""
    served = bench.node.service.adapters
    seconds = []
    for name in bench.adapters:
        version = served.catalog.get(name)
        began = time.perf_counter()
        loader = served.folders.loader(served.catalog, version.weights_digest)
        slot = served.bank.acquire(version.weights_digest, loader)
        seconds.append(time.perf_counter() - began)
        served.bank.release(slot)
    return seconds


@dataclasses.dataclass
class Tally:
    concurrency: int
    seconds: float = 0.0
    latency: list[float] = dataclasses.field(default_factory=list)
    receipts: int = 0  # answers whose receipt checked out (signature and hashes)
    attributed: int = 0  # of those, with a non-empty attribution
    answer_tokens: int = 0

    def figures(self) -> dict[str, Any]:
        n = len(self.latency)
        return {
            "concurrency": self.concurrency,
            "requests": n,
            "seconds": self.seconds,
            "throughput_rps": n / self.seconds,
            "receipts": self.receipts,
            "attributed": self.attributed,
            "answer_tokens": self.answer_tokens,
            **percentiles(self.latency),
        }


def closed_loop(bench: Bench, requests: list[tuple[int, str]], tally: Tally) -> None:
    """`tally.concurrency` paying clients, each asking its next when its last is answered."""
    counter, lock, errors = iter(range(len(requests))), threading.Lock(), []

    def client(payer: Payer) -> None:
        ask = NodeClient(bench.served.url, payer=payer)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                ask.close()
                return
            question, model = requests[n]
            began = time.perf_counter()
            try:
                result = ask.ask(bench.questions[question], model, ANSWER_TOKENS, ignore_eos=True)
                assert result.receipt is not None, "a paid node answered without a receipt"
                result.receipt.verify()
            except Exception as exc:  # counted and reported: a benchmark of failures is void
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - began
            with lock:
                tally.latency.append(elapsed)
                tally.receipts += 1
                tally.attributed += bool(result.receipt.attribution)
                tally.answer_tokens += len(result.receipt.answer_tokens)

    began = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(bench.payers[i],)) for i in range(tally.concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds += time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")


def draw(bench: Bench, count: int, seed: int) -> list[tuple[int, str]]:
    rng = random.Random(seed)
    return [(rng.randrange(len(bench.questions)), rng.choice(bench.adapters)) for _ in range(count)]


def measure(bench: Bench, sizes: dict[str, int]) -> dict[str, Any]:
    mixed = draw(bench, sizes["c8"], seed=1)
    warm = [(q, bench.base) for q, _ in mixed[:2]]
    closed_loop(bench, warm, Tally(2))  # warm-up: first-call costs stay out
    closed_loop(bench, mixed[:2], Tally(2))
    base, adapters = Tally(CLIENTS), Tally(CLIENTS)
    for at in range(0, len(mixed), sizes["round"]):
        chunk = mixed[at : at + sizes["round"]]
        closed_loop(bench, [(q, bench.base) for q, _ in chunk], base)
        closed_loop(bench, chunk, adapters)
        print(f"round {at // sizes['round'] + 1}: {at + len(chunk)} of {len(mixed)}", flush=True)
    alone = draw(bench, sizes["c1"], seed=2)
    base_c1, adapters_c1 = Tally(1), Tally(1)
    closed_loop(bench, [(q, bench.base) for q, _ in alone], base_c1)
    closed_loop(bench, alone, adapters_c1)
    return {
        "base": base.figures(),
        "adapters": adapters.figures(),
        "base_c1": base_c1.figures(),
        "adapters_c1": adapters_c1.figures(),
    }


def bars(figures: dict[str, Any]) -> dict[str, Any]:
    base, adapters = figures["base"], figures["adapters"]
    ratio = adapters["throughput_rps"] / base["throughput_rps"]
    every = all(figures[k]["receipts"] == figures[k]["requests"] for k in ("base", "adapters"))
    tail = figures["adapters_c1"]["p99_s"] / figures["adapters_c1"]["p50_s"]
    return {
        "vs_base": {
            "ratio": ratio,
            "min": 0.85,
            "met": ratio >= 0.85 and every and base["answer_tokens"] == adapters["answer_tokens"],
        },
        "c1_tail": {"p99_over_p50": tail, "max": 2.0, "met": tail <= 2.0},
    }


def render(result: dict[str, Any], out: Path) -> None:
    table = Table(title=f"a node with {ADAPTERS} published adapters, paying clients, same run")
    for col in ("phase", "c", "requests", "req/s", "p50 s", "p99 s", "receipts", "attributed"):
        table.add_column(col, justify="right")
    for name in ("base", "adapters", "base_c1", "adapters_c1"):
        r = result[name]
        table.add_row(
            name,
            str(r["concurrency"]),
            str(r["requests"]),
            f"{r['throughput_rps']:.2f}",
            f"{r['p50_s']:.2f}",
            f"{r['p99_s']:.2f}",
            str(r["receipts"]),
            str(r["attributed"]),
        )
    Console(width=120).print(table)
    cold = result["cold_load"]
    print(
        f"cold load from the store (fetch by CID, checks, read, bank): p50 "
        f"{cold['p50_s'] * 1e3:.0f} ms, p99 {cold['p99_s'] * 1e3:.0f} ms over {cold['loads']}"
    )
    print_bars(result["bars"], out)


def main() -> int:
    args = options(__doc__, "adapters-node.json")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tessera-adapters-node-") as tmp:
        bench = start(args.model, Path(tmp))
        try:
            loads = cold_loads(bench)
            figures = measure(bench, SIZES["quick" if args.quick else "full"])
            figures["resident"] = len(bench.node.service.adapters.bank.resident())
        finally:
            bench.served.stop()
            bench.node.close()
    result = {
        "model": args.model or "gemma-3-270m (default)",
        "quick": args.quick,
        "adapters": ADAPTERS,
        "answer_tokens_each": ANSWER_TOKENS,
        "wall_s": time.perf_counter() - began,
        "cold_load": {"loads": len(loads), **percentiles(loads)},
        **figures,
    }
    result["bars"] = bars(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(result, args.out)
    return 0 if all(bar["met"] for bar in result["bars"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

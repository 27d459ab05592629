"""Many adapters in one engine: throughput, cold loads, memory and latency (issue 15's figures).

    python bench/adapters.py              # the default Gemma 3 270M, about 15 minutes on 2 CPUs
    python bench/adapters.py --quick      # fewer requests per phase: a few minutes
    python bench/adapters.py --model DIR  # any local model folder (a tiny one: a smoke test)

Engine level, as the node drives it (`_node/adapters.py`): `Engine.submit_adapted` with the
adapter's weights digest and a loader that reads its PEFT folder (`read_adapter`), into an
`AdapterBank` of 100 rank-8 slots over the same model. 100 random rank-8 adapters on every
linear layer of the decoder are written as PEFT saves them and put in a local store by CID,
as `tessera model publish` does. Each request is a demo question over its entity's documents
(a stand-in for the node's top-3 retrieval), answered greedily and attributed by the engine's
probes. Every answer is 16 tokens (no stop string, end-of-sequence ignored: vLLM's
`ignore_eos`), so each phase does the same work per request: random adapters change what is
said and so, at natural lengths, how much (61% more answer tokens in an earlier run), which a
throughput ratio per request would count against them. bench/adapters_node.py measures a
node at natural lengths, with payments and receipts.

Phases, in one run on one machine:
- base: closed-loop clients at concurrency 8 on the base model alone (an engine with no bank);
- adapters: the same requests, each to a random one of the 100 resident adapters;
- PEFT: the first 8 of each round's requests through PEFT's own mixed-batch path
  (`generate(adapter_names=...)`), a batch of 8, on a plain transformers model (PEFT wraps
  nn.Linear only), which does no attribution; against it, the same 8 requests through our
  engine with attribution off (`adapters_generation`): the same work;
  base, adapters and PEFT alternate round by round, so that on shared cores each sees the
  machine at about the same time;
- latency at concurrency 1 with adapters (answers compared with the concurrency-8 ones);
- 10 and 1,000 registered adapters: 1,000 through the bank's 100 slots means LRU churn, each
  miss a cold load on the client's thread, as on a node. Adapters 100 to 999 are the first
  100's files under their own names (the same read and load, a tenth of the disk);
- cold loads: each adapter fetched from the store by its manifest CID (every block checked
  against its CID, the folder against its weights digest), read, and loaded into the bank
  (the 100 initial loads; a remote peer's transfer would come on top);
- memory per resident adapter: the bytes of its bank slot.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from tessera._inference.engine import Completion, Engine, Job, eos_token_ids
from tessera._inference.lora import AdapterBank
from tessera._inference.prompt import Prompt, PromptBuilder
from tessera._models import load_generator
from tessera._models.adapter import LoraAdapter, read_adapter
from tessera._models.generator import GeneratorConfig
from tessera._models.publication import fetch_model, publish_model
from tessera._store.local import LocalBlobStore

DEMO = Path(__file__).resolve().parents[1] / "src" / "tessera" / "cli" / "demo_data"
RESIDENT, RANK, ALPHA, CONCURRENCY = 100, 8, 16, 8
ANSWER_TOKENS = 16  # every answer, end-of-sequence ignored: the same work per request
# requests per phase: full run, --quick. PEFT gets the first batch of each round only: a batch
# of 8 waits for its longest answer, and takes minutes on 2 cores
SIZES = {
    "full": {"c8": 64, "round": 32, "peft": 8, "c1": 16, "few": 32, "many": 64},
    "quick": {"c8": 16, "round": 16, "peft": 8, "c1": 6, "few": 8, "many": 16},
}
Request = tuple[int, int | None]  # (prompt index, adapter index or None for the base)


# the workload -------------------------------------------------------------------------------


def demo_prompts(builder: PromptBuilder) -> list[Prompt]:
    """Each demo question over its entity's first three documents."""
    docs = [json.loads(x) for x in (DEMO / "corpus.jsonl").read_text().splitlines() if x.strip()]
    lines = (DEMO / "questions.jsonl").read_text().splitlines()
    prompts = []
    for question in (json.loads(x) for x in lines if x.strip()):
        entity = question["support"][0].rsplit("-", 1)[0]
        texts = [d["text"] for d in docs if d["doc_id"].rsplit("-", 1)[0] == entity][:3]
        prompts.append(builder.build(texts, question["question"]))
    return prompts


def draw(count: int, prompts: int, adapters: int | None, seed: int) -> list[Request]:
    rng = random.Random(seed)
    return [
        (rng.randrange(prompts), None if adapters is None else rng.randrange(adapters))
        for _ in range(count)
    ]


# adapters -----------------------------------------------------------------------------------


def write_adapters(layers: Mapping[str, Any], root: Path, count: int) -> list[Path]:
    """`count` random rank-8 PEFT adapters on `layers` (path -> linear layer: every one a bank
    wraps), as PEFT saves them."""
    from safetensors.torch import save_file

    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": RANK,
        "lora_alpha": ALPHA,
        "lora_dropout": 0.0,
        "bias": "none",
        "target_modules": sorted({p.rsplit(".", 1)[-1] for p in layers}),
        "base_model_name_or_path": "base",
    }
    folders = []
    for n in range(count):
        g = torch.Generator().manual_seed(n)
        tensors = {}
        for path, layer in layers.items():
            a = torch.randn(RANK, layer.in_features, generator=g) / layer.in_features**0.5
            b = torch.randn(layer.out_features, RANK, generator=g) * 0.02
            tensors[f"base_model.model.{path}.lora_A.weight"] = a
            tensors[f"base_model.model.{path}.lora_B.weight"] = b
        folder = root / f"adapter-{n:03d}"
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps(config))
        save_file(tensors, folder / "adapter_model.safetensors")
        folders.append(folder)
    return folders


@dataclasses.dataclass
class Registry:
    """Registered adapters by index: 0 to 99 their own folders, the rest aliases of them.
    `published` are the manifest CIDs in `store`; `folders` are filled as they are fetched."""

    store: LocalBlobStore
    published: list[str]
    digests: list[str]
    fetched: Path
    folders: list[Path] = dataclasses.field(default_factory=list)

    def fetch(self, n: int) -> Path:
        """Adapter n's folder from the store, every block and the whole checked."""
        return fetch_model(
            self.store, self.published[n], self.fetched / f"{n:03d}", self.digests[n]
        )

    def digest(self, n: int) -> str:
        if n < len(self.folders):
            return self.digests[n]
        return f"{self.digests[n % len(self.folders)]}-registered-{n}"

    def load(self, n: int) -> LoraAdapter:
        adapter = read_adapter(self.folders[n % len(self.folders)])
        return dataclasses.replace(adapter, digest=self.digest(n))


# driving the engine ---------------------------------------------------------------------------


def publish(folders: list[Path], root: Path) -> Registry:
    store = LocalBlobStore(root / "store")
    manifests = [publish_model(store, f, f.name) for f in folders]
    return Registry(
        store, [m.cid for m in manifests], [m.weights_digest for m in manifests], root / "fetched"
    )


def submitter(
    engine: Engine, prompts: list[Prompt], registry: Registry | None, attribute: bool = True
) -> Callable[[Request], Future[Completion]]:
    def submit(request: Request) -> Future[Completion]:
        prompt, adapter = request
        job = Job(prompts[prompt], ANSWER_TOKENS, (), attribute=attribute, ignore_eos=True)
        if adapter is None or registry is None:
            return engine.submit(job)
        return engine.submit_adapted(job, registry.digest(adapter), lambda: registry.load(adapter))

    return submit


@dataclasses.dataclass
class Tally:
    """One phase's requests, over any number of rounds."""

    concurrency: int = CONCURRENCY
    seconds: float = 0.0
    latency: list[float] = dataclasses.field(default_factory=list)
    answers: list[Completion] = dataclasses.field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        n = len(self.latency)
        return {
            "concurrency": self.concurrency,
            "requests": n,
            "seconds": self.seconds,
            "throughput_rps": n / self.seconds,
            "answer_tokens": sum(len(c.answer_ids) for c in self.answers),
            "attributed": sum(c.effects is not None for c in self.answers),
            **percentiles(self.latency),
        }


def closed_loop(
    submit: Callable[[Request], Future[Completion]], requests: list[Request], tally: Tally
) -> Tally:
    """`tally.concurrency` clients, each sending its next request when its last is answered."""
    done: list[Completion | None] = [None] * len(requests)
    latency = [0.0] * len(requests)
    counter, lock = iter(range(len(requests))), threading.Lock()

    def client() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            began = time.perf_counter()
            done[n] = submit(requests[n]).result()
            latency[n] = time.perf_counter() - began

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(tally.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds += time.perf_counter() - began
    tally.latency += latency
    tally.answers += [c for c in done if c is not None]
    return tally


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


def preload(bank: AdapterBank, registry: Registry) -> list[float]:
    """Fetch every adapter from the store and load it into the bank once; the seconds of each
    cold load."""
    seconds = []
    for n in range(len(registry.published)):
        began = time.perf_counter()
        registry.folders.append(registry.fetch(n))
        slot = bank.acquire(registry.digest(n), lambda n=n: registry.load(n))  # type: ignore[misc]
        seconds.append(time.perf_counter() - began)
        bank.release(slot)
    return seconds


# PEFT's own path -------------------------------------------------------------------------------


class PeftBatches:
    """PEFT's mixed-batch generate over the adapters `requests` use, batches of CONCURRENCY."""

    def __init__(
        self, model_path: str | None, folders: list[Path], requests: list[Request]
    ) -> None:
        from peft import PeftModel
        from transformers import GenerationConfig

        plain = load_generator(model_path, GeneratorConfig(onednn=False))
        used = sorted({a for _, a in requests if a is not None})
        self.names = {a: f"a{a}" for a in used}
        first = self.names[used[0]]
        model = PeftModel.from_pretrained(plain.model, folders[used[0]], adapter_name=first)
        for a in used[1:]:
            model.load_adapter(folders[a], adapter_name=self.names[a])
        self.model, self.tokenizer = model.eval(), plain.tokenizer
        # all ANSWER_TOKENS, as ours: greedy with end-of-sequence suppressed, which changes
        # nothing before the first one, where answers are compared
        self.settings = GenerationConfig(
            max_new_tokens=ANSWER_TOKENS,
            min_new_tokens=ANSWER_TOKENS,
            do_sample=False,
            num_beams=1,
            pad_token_id=plain.tokenizer.pad_token_id,
            eos_token_id=plain.model.generation_config.eos_token_id,
        )
        self.eos = set(eos_token_ids(plain.model, plain.tokenizer))
        self.seconds = 0.0
        self.answers: list[list[int]] = []

    def run(self, prompts: list[Prompt], requests: list[Request]) -> None:
        began = time.perf_counter()
        for at in range(0, len(requests), CONCURRENCY):
            self._batch(prompts, requests[at : at + CONCURRENCY])
        self.seconds += time.perf_counter() - began

    @torch.inference_mode()
    def _batch(self, prompts: list[Prompt], batch: list[Request]) -> None:
        pad = self.tokenizer.pad_token_id
        rows = [prompts[p].ids for p, _ in batch]
        width = max(len(r) for r in rows)  # left padding: (batch, width)
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            adapter_names=[self.names[a] if a is not None else "__base__" for _, a in batch],
            generation_config=self.settings,
        )
        self.answers += out[:, width:].tolist()

    def same_answer(self, ours: list[int], theirs: list[int]) -> bool:
        """Equal up to our first end-of-sequence token, after which PEFT's were suppressed."""
        end = next((i for i, t in enumerate(ours) if t in self.eos), len(ours))
        return ours[:end] == theirs[:end]

    def figures(self) -> dict[str, Any]:
        n = len(self.answers)
        return {"requests": n, "seconds": self.seconds, "throughput_rps": n / self.seconds}


# the run ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Served:
    """The base model alone, and the same model again with a bank of RESIDENT adapters."""

    base: Engine
    adapted: Engine
    bank: AdapterBank
    registry: Registry
    prompts: list[Prompt]
    cold_loads: list[float]


def serve(model: str | None, root: Path) -> Served:
    base, again = load_generator(model), load_generator(model)
    prompts = demo_prompts(PromptBuilder(base.tokenizer))
    bank = AdapterBank(again.model, capacity=RESIDENT, rank=RANK)
    registry = publish(write_adapters(bank.layers, root / "written", RESIDENT), root)
    loads = preload(bank, registry)
    return Served(
        Engine(base.model, base.tokenizer, max_batch=CONCURRENCY),
        Engine(again.model, again.tokenizer, max_batch=CONCURRENCY, bank=bank),
        bank,
        registry,
        prompts,
        loads,
    )


def alternating(served: Served, peft: PeftBatches, mixed: list[Request], sizes: dict) -> dict:
    """Base, adapters and PEFT on the same requests, round by round: on shared cores, each
    sees the machine at about the same time."""
    base = submitter(served.base, served.prompts, None)
    adapted = submitter(served.adapted, served.prompts, served.registry)
    unattributed = submitter(served.adapted, served.prompts, served.registry, attribute=False)
    closed_loop(base, mixed[:2], Tally(2))  # warm-up: first-call costs stay out
    closed_loop(adapted, mixed[:2], Tally(2))
    peft.run(served.prompts, mixed[:1])
    peft.seconds, peft.answers = 0.0, []
    tallies = {"base": Tally(), "adapters": Tally(), "adapters_generation": Tally()}
    compared: list[int] = []
    for at in range(0, len(mixed), sizes["round"]):
        chunk = mixed[at : at + sizes["round"]]
        closed_loop(base, [(p, None) for p, _ in chunk], tallies["base"])
        closed_loop(adapted, chunk, tallies["adapters"])
        peft.run(served.prompts, chunk[: sizes["peft"]])
        closed_loop(unattributed, chunk[: sizes["peft"]], tallies["adapters_generation"])
        compared += range(at, at + min(sizes["peft"], len(chunk)))
        print(f"round {at // sizes['round'] + 1}: {at + len(chunk)} of {len(mixed)}", flush=True)
    figures = {name: t.figures() for name, t in tallies.items()}
    figures["peft"] = peft.figures()
    ours = [tallies["adapters"].answers[n].answer_ids for n in compared]
    figures["peft"]["answers_equal_to_ours"] = sum(
        peft.same_answer(a, b) for a, b in zip(ours, peft.answers, strict=True)
    )
    figures["our_answers"] = tallies["adapters"].answers
    return figures


def scaling(served: Served, sizes: dict[str, int], together: list[Completion]) -> dict:
    """Latency at concurrency 1, then 10 and 1,000 registered adapters."""
    adapted, n = submitter(served.adapted, served.prompts, served.registry), len(served.prompts)
    mixed = draw(sizes["c8"], n, RESIDENT, seed=1)
    alone = closed_loop(adapted, mixed[: sizes["c1"]], Tally(1))
    figures = {"adapters_c1": alone.figures()}
    figures["adapters_c1"]["answers_equal_to_concurrency_8"] = sum(
        a.answer_ids == b.answer_ids for a, b in zip(alone.answers, together, strict=False)
    )
    for name, registered, count in (
        ("registered_10", 10, "few"),
        ("registered_1000", 1000, "many"),
    ):
        before = served.bank.loads
        tally = closed_loop(adapted, draw(sizes[count], n, registered, seed=registered), Tally())
        figures[name] = {**tally.figures(), "cold_loads": served.bank.loads - before}
        print(f"{registered} registered: {figures[name]['throughput_rps']:.2f} req/s", flush=True)
    return figures


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    base, adapters, peft = (figures[k]["throughput_rps"] for k in ("base", "adapters", "peft"))
    generation = figures["adapters_generation"]["throughput_rps"]  # PEFT's work: no attribution
    c1 = figures["adapters_c1"]
    # the same work per request: every answer ANSWER_TOKENS long, in both phases
    same_work = figures["base"]["answer_tokens"] == figures["adapters"]["answer_tokens"]
    figures["bars"] = {
        "vs_base": {
            "ratio": adapters / base,
            "min": 0.85,
            "met": adapters / base >= 0.85 and same_work,
        },
        "vs_peft": {
            "ratio": generation / peft,
            "min_exclusive": 1.0,
            "met": generation > peft,
        },
        "c1_tail": {
            "p99_over_p50": c1["p99_s"] / c1["p50_s"],
            "max": 2.0,
            "met": c1["p99_s"] <= 2 * c1["p50_s"],
        },
    }
    return figures


def render(figures: dict[str, Any], out: Path) -> None:
    table = Table(title="adapters in one engine (rank 8, all linear layers), same run")
    for col in ("phase", "c", "requests", "req/s", "p50 s", "p99 s", "attributed", "loads"):
        table.add_column(col, justify="right")
    phases = ("base", "adapters", "adapters_generation", "peft", "adapters_c1")
    for name in (*phases, "registered_10", "registered_1000"):
        r = figures[name]
        table.add_row(
            name,
            str(r.get("concurrency", CONCURRENCY)),
            str(r["requests"]),
            f"{r['throughput_rps']:.2f}",
            f"{r['p50_s']:.2f}" if "p50_s" in r else "-",
            f"{r['p99_s']:.2f}" if "p99_s" in r else "-",
            str(r.get("attributed", "-")),
            str(r.get("cold_loads", "-")),
        )
    Console(width=120).print(table)
    cold, bars = figures["cold_load"], figures["bars"]
    print(
        f"cold load (store fetch + checks + read + bank): p50 {cold['p50_s'] * 1e3:.0f} ms, p99 "
        f"{cold['p99_s'] * 1e3:.0f} ms; memory per resident adapter "
        f"{figures['slot_bytes'] / 2**20:.2f} MiB (its slot)"
    )
    print_bars(bars, out)


def print_bars(bars: dict[str, Any], out: Path) -> None:
    for name, bar in bars.items():
        value = bar.get("ratio", bar.get("p99_over_p50"))
        print(f"bar {name}: {'met' if bar['met'] else 'NOT met'} ({value:.2f})")
    print(f"figures in {out}")


def options(doc: str, results: str) -> argparse.Namespace:
    """The adapter benchmarks' command line: --model, --quick, --out (bench/results/RESULTS)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--model", help="a local model folder (default: Gemma 3 270M)")
    parser.add_argument("--quick", action="store_true", help="fewer requests per phase")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / results)
    return parser.parse_args()


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    sizes = SIZES["quick" if args.quick else "full"]
    served = serve(args.model, root)
    mixed = draw(sizes["c8"], len(served.prompts), RESIDENT, seed=1)
    peft = PeftBatches(args.model, served.registry.folders, mixed)  # loads every one used
    figures = alternating(served, peft, mixed, sizes)
    del peft  # its model and adapters: memory the rest does not need
    served.base.close()
    together = figures.pop("our_answers")
    figures.update(scaling(served, sizes, together))
    served.adapted.close()
    bank = served.bank
    figures["cold_load"] = {"loads": len(served.cold_loads), **percentiles(served.cold_loads)}
    figures["slot_bytes"] = sum(bank.a[p][0].nbytes + bank.b[p][0].nbytes for p in bank.layers)
    weights = served.registry.folders[0] / "adapter_model.safetensors"
    figures["adapter_file_bytes"] = weights.stat().st_size
    return figures


def main() -> int:
    args = options(__doc__, "adapters.json")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tessera-adapters-bench-") as tmp:
        figures = run(args, Path(tmp))
    result = {
        "model": args.model or "gemma-3-270m (default)",
        "quick": args.quick,
        "resident": RESIDENT,
        "rank": RANK,
        "wall_s": time.perf_counter() - began,
        **summary(figures),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(result, args.out)
    return 0 if all(bar["met"] for bar in result["bars"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

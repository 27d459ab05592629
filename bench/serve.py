"""Throughput and latency of a node under concurrent clients, batched vs. one at a time.

    python bench/serve.py                 # the default Gemma 3 270M, about four minutes on 2 CPUs
    python bench/serve.py --model DIR     # any local model folder (a tiny one: a smoke test)
    python bench/serve.py --corpus C.jsonl --questions Q.jsonl   # another workload

Two nodes serve the same datanet on loopback, one batching up to 8 requests and one serving
one request at a time (max batch 1: the next request starts when the last one's answer and
attribution are done). For each concurrency level, closed-loop clients (each
sends its next request when the last one is answered) drive one node and then the other, so
both see the same machine at about the same time. Every request is a full attributed answer:
retrieval, generation, attribution, a signed receipt saved to disk. Each client sends
`--requests` requests per level, so that the start and the drain of a level (when fewer
than `concurrency` requests are in flight) weigh little in its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

DEMO = Path(__file__).resolve().parents[1] / "src" / "tessera" / "cli" / "demo_data"
LEVELS = (1, 4, 8)
MODES = {"batched": 8, "one at a time": 1}


def serve(port: int, max_batch: int, model: str | None, corpus: Path) -> None:
    """Child process: a node over the demo corpus on an in-process chain."""
    import tempfile

    import uvicorn

    from tessera import Tessera
    from tessera._node.config import NodeConfig
    from tessera._node.runtime import build_node

    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    home = Path(tempfile.mkdtemp(prefix="tessera-serve-bench-"))
    t = Tessera.init(home, chain="inprocess", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines() if line.strip()]
    (home / "facts.jsonl").write_text("".join(json.dumps({"text": x}) + "\n" for x in texts))
    t.contribute("facts", [home / "facts.jsonl"])
    node = build_node(
        t.node_parts(),
        NodeConfig(
            datanets=("facts",),
            model_path=model,
            max_batch=max_batch,
            follow_interval_s=3600,
            payments=False,  # serving speed, as measured before payments existed
        ),
    )
    uvicorn.run(node.app, host="127.0.0.1", port=port, log_level="warning")


def start_node(
    max_batch: int, model: str | None, corpus: Path
) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, __file__, "--serve", str(port), "--max-batch", str(max_batch)]
    command += ["--corpus", str(corpus)]
    if model:
        command += ["--model", model]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise SystemExit(f"the node (max batch {max_batch}) exited while starting")
    raise SystemExit("the node did not start within 10 minutes")


def load(
    url: str, questions: list[str], concurrency: int, total: int, answers: dict[int, set[str]]
) -> dict[str, float]:
    """`concurrency` closed-loop clients send `total` requests; returns throughput and latency.
    Adds each answer's text to `answers[question index]`."""
    latencies: list[float] = []
    counter = iter(range(total))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                body = {
                    "model": MODEL_ID[url],
                    "messages": [{"role": "user", "content": questions[n % len(questions)]}],
                }
                began = time.perf_counter()
                response = http.post("/v1/chat/completions", json=body)
                elapsed = time.perf_counter() - began
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                        text = response.json()["choices"][0]["message"]["content"]
                        answers.setdefault(n % len(questions), set()).add(text)
                    else:
                        errors.append(response.text[:200])

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "requests": total,
        "seconds": wall,
        "throughput_rps": total / wall,
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


MODEL_ID: dict[str, str] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model folder (default: Gemma 3 270M)")
    parser.add_argument("--requests", type=int, default=8, help="requests per client per level")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "serve.json"
    )
    parser.add_argument("--corpus", type=Path, default=DEMO / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=DEMO / "questions.jsonl")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-batch", type=int, default=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.max_batch, args.model, args.corpus)
        return 0
    lines = args.questions.read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    nodes = {mode: start_node(batch, args.model, args.corpus) for mode, batch in MODES.items()}
    rows: list[dict[str, float | str]] = []
    answers: dict[int, set[str]] = {}  # every text each question got, in any mode and level
    try:
        for _, url in nodes.values():
            MODEL_ID[url] = httpx.get(url + "/v1/models").json()["data"][0]["id"]
            load(url, questions, 2, 2, {})  # warm-up: first-call costs stay out of the figures
        for level in LEVELS:
            for mode, (_, url) in nodes.items():
                figures = load(url, questions, level, max(level * args.requests, 4), answers)
                rows.append({"mode": mode, **figures})
                print(f"{mode:>14} c={level}: {figures['throughput_rps']:.2f} req/s", flush=True)
    finally:
        for proc, _ in nodes.values():
            proc.terminate()
            proc.wait(timeout=30)
    speedups = {}
    for level in LEVELS:
        batched, single = (
            next(r for r in rows if r["mode"] == m and r["concurrency"] == level) for m in MODES
        )
        speedups[level] = float(batched["throughput_rps"]) / float(single["throughput_rps"])
    result = {
        "model": args.model or "gemma-3-270m (default)",
        "workload": [str(args.corpus), str(args.questions)],
        "rows": rows,
        # greedy float32: batching must not change answers beyond rounding-level near-ties
        "questions_answered": len(answers),
        "questions_with_one_answer_everywhere": sum(len(texts) == 1 for texts in answers.values()),
        "throughput_ratio_batched_vs_one_at_a_time": speedups,
        "bar": {
            "concurrency": 8,
            "min_ratio": 2.0,
            "ratio": speedups[8],
            "met": speedups[8] >= 2.0,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title="serving: batched (max 8) vs one request at a time, same run")
    for col in ("mode", "concurrency", "requests", "req/s", "p50 s", "p99 s", "x vs one at a time"):
        table.add_column(col, justify="right")
    for r in rows:
        ratio = speedups[int(r["concurrency"])] if r["mode"] == "batched" else 1.0
        table.add_row(
            str(r["mode"]),
            str(r["concurrency"]),
            str(r["requests"]),
            f"{r['throughput_rps']:.2f}",
            f"{r['p50_s']:.2f}",
            f"{r['p99_s']:.2f}",
            f"{ratio:.2f}",
        )
    Console(width=120).print(table)
    print(
        f"questions answered identically in every mode and level: "
        f"{result['questions_with_one_answer_everywhere']}/{result['questions_answered']}"
    )
    print(
        f"bar (batching >= 2x throughput at concurrency 8): "
        f"{'met' if result['bar']['met'] else 'NOT met'} ({speedups[8]:.2f}x); "
        f"figures in {args.out}"
    )
    return 0 if result["bar"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

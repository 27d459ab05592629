"""Gas per contribution and contributions per second, batched vs. one transaction each.

    python bench/ingest.py                      # in-process py-evm chain
    python bench/ingest.py --chain http://127.0.0.1:8545   # any JSON-RPC chain, e.g. anvil

Every row runs the whole ingest path (store, sign, Merkle tree, manifest, transaction, index
sync) in the same process and on the same chain as the naive baseline (batch size 1: one
registry transaction per contribution), so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tessera import Tessera
from tessera._data.chunking import Chunk
from tessera._data.ingest import IngestContext, contribute_chunks

# (batch size, contributions) per row: enough batches to average, few enough to finish
PLAN = [(1, 100), (100, 2000), (1000, 5000), (10_000, 20_000)]
QUICK_PLAN = [(1, 10), (100, 200), (1000, 1000)]


def run_row(t: Tessera, batch_size: int, count: int, row: int) -> dict[str, float]:
    name = f"bench-{row}-{batch_size}"
    t.create_datanet(name, "CC0-1.0")
    chunks = [Chunk("bench", f"{name} synthetic contribution number {i}") for i in range(count)]
    ctx = IngestContext(t.registry, t.store, t.index, t.domain)
    signer = t.signer()
    start = time.perf_counter()
    report = contribute_chunks(ctx, name, chunks, signer, batch_size)
    seconds = time.perf_counter() - start
    assert report.registered == count, report
    return {
        "batch_size": batch_size,
        "contributions": count,
        "batches": len(report.batches),
        "gas_total": report.gas_used,
        "gas_per_contribution": report.gas_used / count,
        "contributions_per_second": count / seconds,
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", default="inprocess", help="'inprocess' or a JSON-RPC URL")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "ingest.json"
    )
    args = parser.parse_args()
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    with tempfile.TemporaryDirectory() as home:
        t = Tessera.init(Path(home), chain=args.chain, scrypt_n=2**4)
        rows = [run_row(t, b, n, i) for i, (b, n) in enumerate(QUICK_PLAN if args.quick else PLAN)]
        t.close()
    naive = rows[0]
    for row in rows:
        row["gas_ratio_vs_naive"] = naive["gas_per_contribution"] / row["gas_per_contribution"]
        row["speedup_vs_naive"] = (
            row["contributions_per_second"] / naive["contributions_per_second"]
        )
    at_1000 = next(r for r in rows if r["batch_size"] == 1000)
    result = {
        "chain": args.chain,
        "rows": rows,
        "bar": {
            "batch_size": 1000,
            "min_gas_ratio": 100,
            "gas_ratio": at_1000["gas_ratio_vs_naive"],
            "met": at_1000["gas_ratio_vs_naive"] >= 100,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    table = Table(title=f"ingest on {args.chain} (baseline: batch size 1, same run)")
    for col in (
        "batch size",
        "contributions",
        "gas / contribution",
        "x less gas",
        "contributions / s",
        "x faster",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            f"{r['batch_size']:,}",
            f"{r['contributions']:,}",
            f"{r['gas_per_contribution']:,.0f}",
            f"{r['gas_ratio_vs_naive']:,.0f}",
            f"{r['contributions_per_second']:,.0f}",
            f"{r['speedup_vs_naive']:,.1f}",
        )
    Console(width=120).print(table)
    print(
        f"bar (>= 100x less gas at batch 1,000): {'met' if result['bar']['met'] else 'NOT met'}"
        f" ({at_1000['gas_ratio_vs_naive']:,.0f}x); figures in {args.out}"
    )
    return 0 if result["bar"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

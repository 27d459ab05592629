"""Every hand-written hostile case (tests/fuzz/hostile_cases.py) against a live paying node.

    python bench/hostile.py                      # about a minute on 2 CPUs
    python bench/hostile.py --out results.json   # write the figures elsewhere

Starts a paying node on loopback (tiny models built on the spot, an in-process chain), sends
every case, and counts per endpoint the cases tried and those the node survived with exactly
the refusal due (or, for the valid controls among them, an answer and its receipt). Prints
the table as markdown (for the README) and every case that failed with what it got, writes
bench/results/hostile.json, and exits 1 unless every case passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tiny models need only the bundled tokenizers

from hostile_cases import (  # noqa: E402  (found through the path set above)
    ENDPOINTS,
    Outcome,
    budget_voucher,
    hostile_cases,
    run_case,
    start_paying_node,
)


def attack(folder: Path) -> tuple[list[Outcome], float]:
    from tessera._models import (
        TinyConfig,
        build_tiny_embedder,
        build_tiny_generator,
        load_embedder,
        load_generator,
    )

    wide = TinyConfig(sliding_window=4096)  # as the tests' wide_generator
    generator = load_generator(str(build_tiny_generator(folder / "gemma", wide)))
    embedder = load_embedder(str(build_tiny_embedder(folder / "bert")))
    node = start_paying_node(folder / "node", generator, embedder)
    try:
        genuine = budget_voucher(node)
        client, registry = node.t.signer("client"), node.t.config.deployment.registry
        cases = hostile_cases(genuine, client, registry)
        started = time.perf_counter()
        outcomes = [run_case(case, node, genuine.to_header()) for case in cases]
        return outcomes, time.perf_counter() - started
    finally:
        node.stop()


def tally(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    counts = {endpoint: {"tried": 0, "survived": 0, "controls": 0} for endpoint in ENDPOINTS}
    for outcome in outcomes:
        row = counts[outcome.case.endpoint]
        row["tried"] += 1
        row["survived"] += outcome.survived
        row["controls"] += outcome.case.status < 300
    return counts


def table(counts: dict[str, dict[str, int]]) -> str:
    lines = [
        "| endpoint | hostile cases tried | survived with the correct refusal |",
        "|---|---:|---:|",
    ]
    for endpoint, row in counts.items():
        lines.append(f"| `{endpoint}` | {row['tried']} | {row['survived']} |")
    tried = sum(row["tried"] for row in counts.values())
    survived = sum(row["survived"] for row in counts.values())
    controls = sum(row["controls"] for row in counts.values())
    lines.append(f"| all | {tried} | {survived} |")
    lines.append(
        f"\n{controls} of the cases are valid requests sent the same way (an emoji as a "
        "surrogate pair, a body of exactly the limit, an EIP-2098 signature): for those, "
        "surviving means an answer with its receipt."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hostile.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tessera-hostile-") as folder:
        outcomes, seconds = attack(Path(folder))
    counts = tally(outcomes)
    failed = [outcome for outcome in outcomes if not outcome.survived]
    print(table(counts))
    for outcome in failed:
        print(f"FAILED {outcome.describe()}")
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} cases passed in {seconds:.1f} s")
    result = {
        "cases": len(outcomes),
        "survived": len(outcomes) - len(failed),
        "seconds": round(seconds, 1),
        "endpoints": counts,
        "failures": [
            {
                "id": outcome.case.id,
                "expected": {"status": outcome.case.status, "code": outcome.case.code},
                "got": None
                if outcome.reply is None
                else {
                    "status": outcome.reply.status,
                    "body": outcome.reply.body[:400].decode("utf-8", "replace"),
                },
                "problems": list(outcome.problems),
            }
            for outcome in failed
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

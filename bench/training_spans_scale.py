"""What scoring one answer's training attribution costs as an adapter's datanet grows: the
span-gain scores (`_attribution.training_spans`) as served, against the same scores with no
proximity (the cost of proximity itself), and against scanning every holder's rows for the
entity (what version 2 first did), measured in the same run.

    python bench/training_spans_scale.py [--contributions 250,1000,2000] [--repeats 3]

Synthetic token rows stand in for a datanet (no model is needed: this is the answer path's
arithmetic, after the probe's forward pass): per contribution 4 rows of 60 tokens drawn from a
Zipf-like law over 20,000 ids, so a few ids (" the") are held by every contribution. The
question's entity is two fresh ids planted in the answer's source and in three other
contributions; the answer is 30 tokens of the source's row, each with a gain. The served
scores must equal the scanning ones exactly (the check fails the run otherwise).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tessera._attribution.training_proximity import Names, proximity
from tessera._attribution.training_spans import SpanIndex, span_gain_scores

VOCAB = 20_000
ROWS, ROW_TOKENS, ANSWER_TOKENS = 4, 60, 30
ENTITY = [VOCAB + 1, VOCAB + 2]


class _Scanning(SpanIndex):
    """Every holder's rows scanned for the entity, as version 2 first did."""

    def proximity(self, source: int, span: Sequence[int], names: Names, asked: set[int]) -> float:
        return proximity(self.rows[source], span, names, asked, self.holding)


class _Flat(SpanIndex):
    """No proximity: every span stands by the entity (the scoring before version 2)."""

    def proximity(self, source: int, span: Sequence[int], names: Names, asked: set[int]) -> float:
        return 1.0


def _view(kind: type[SpanIndex], index: SpanIndex) -> SpanIndex:
    """`index`'s built state, scored as `kind` scores (an index is not built twice)."""
    view = kind.__new__(kind)
    view.__dict__.update(index.__dict__)
    return view


def datanet(count: int, seed: int = 0) -> list[list[list[int]]]:
    rng = random.Random(seed)
    rows = [
        [[min(int(rng.paretovariate(0.8)), VOCAB) for _ in range(ROW_TOKENS)] for _ in range(ROWS)]
        for _ in range(count)
    ]
    rows[0][1][12:14] = ENTITY  # the source
    for other in (1, 2, 3):  # others that name the entity too
        rows[other][0][5:7] = ENTITY
    return rows


def timed(
    index: SpanIndex, answer: list[int], question: list[int], repeats: int
) -> tuple[list[float], float]:
    gains = [0.5] * len(answer)
    start = time.perf_counter()
    for _ in range(repeats):
        scores = span_gain_scores(index, answer, gains, question)
    return scores, (time.perf_counter() - start) / repeats * 1000


def measure(count: int, repeats: int) -> dict[str, float]:
    rows = datanet(count)
    start = time.perf_counter()
    served = SpanIndex(rows)
    build_s = time.perf_counter() - start
    answer = rows[0][1][10 : 10 + ANSWER_TOKENS]
    question = [1, 2, 3, *ENTITY, 1, 4]
    scores, served_ms = timed(served, answer, question, repeats)
    scanned, scan_ms = timed(_view(_Scanning, served), answer, question, repeats)
    if scores != scanned:
        raise SystemExit(f"{count} contributions: the served scores differ from the scanned")
    _, flat_ms = timed(_view(_Flat, served), answer, question, repeats)
    top = max(range(count), key=lambda i: scores[i])
    return {
        "contributions": count,
        "index_build_s": round(build_s, 2),
        "served_ms": round(served_ms, 2),
        "no_proximity_ms": round(flat_ms, 2),
        "scanning_ms": round(scan_ms, 2),
        "proximity_cost": round(served_ms / flat_ms, 3),
        "scanning_over_served": round(scan_ms / served_ms, 2),
        "top_is_source": top == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributions", default="250,1000,2000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/training-spans-scale.json"))
    args = parser.parse_args()
    rows = [measure(int(n), args.repeats) for n in args.contributions.split(",")]
    table = Table(title="scoring one answer's training attribution (ms, one core)")
    for key in rows[0]:
        table.add_column(key.replace("_", " "))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console(width=160).print(table)
    args.out.write_text(json.dumps({"benchmark": "training-spans-scale", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

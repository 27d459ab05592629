"""How fast the web app's pages arrive on a big home, and how much each sends.

    python bench/web.py                  # 10,000 contributions and 100 posted epochs
    python bench/web.py --quick          # 1,000 and 10, for a smoke test

Two homes on in-process chains, built in this run: the big one (10 contributors sharing the
contributions, one node that posted every epoch, 5 answers per epoch crediting 5
contributions each) and a small baseline (10 contributions, 1 epoch). Each page is fetched
from a live uvicorn server on loopback, `--repeat` times after one warm-up; the figure is the
time until the whole page has arrived, which for these server-rendered pages is what the
browser needs to render (the one script only adds the wallet). The first view is timed too:
the app reads the chain's logs into its index when it starts, and a page asked for before
that is done waits for it. The ratio to the same page on
the small home shows what the size of the home costs: long lists paginate, so it stays small.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from tessera import Tessera
from tessera.web import WebConfig, create_web_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from backends import free_port  # tests/backends.py: a free loopback port
from epoch_helpers import post_epochs  # tests/epoch_helpers.py: epochs without a node

CONTRIBUTORS = 10


def build_home(folder: Path, contributions: int, epochs: int) -> tuple[Tessera, dict[str, str]]:
    t = Tessera.init(folder, chain="inprocess", scrypt_n=2**4)
    t.create_datanet("big", "CC-BY-4.0", description="A benchmark datanet")
    names = [f"contributor-{i}" for i in range(CONTRIBUTORS)]
    for n, name in enumerate(names):
        t.new_account(name)
        source = folder / f"c{n}.jsonl"
        mine = range(n, contributions, CONTRIBUTORS)
        source.write_text(
            "".join(f'{{"text": "Fact {i}: entity {i} is {i * 7}."}}\n' for i in mine)
        )
        t.contribute("big", [source], account=name)
    for name in ("node", "client"):
        t.new_account(name)
    t.transfer(10**24, "client")
    node = t.signer("node")
    t.deposit(10**22, node.address, "client")
    post_epochs(t, epochs)
    cid = t.datanet("big").contributions[0].cid
    return t, {"node": node.address, "contributor": t.address(names[0]), "cid": cid}


def pages(ids: dict[str, str]) -> dict[str, str]:
    return {
        "overview": "/",
        "datanets": "/datanets",
        "datanet": "/datanets/big",
        "datanet, last page": "/datanets/big?page=1000000",
        "contribution": f"/contributions/{ids['cid']}",
        "contributor's account": f"/accounts/{ids['contributor']}",
        "nodes": "/nodes",
        "node": f"/nodes/{ids['node']}",
        "models": "/models",
        "proposals": "/proposals",
        "parameters": "/parameters",
    }


def measure(t: Tessera, ids: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    port = free_port()
    app = create_web_app(WebConfig(), opener=lambda: t)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    out = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for name, path in pages(ids).items():
                began = time.perf_counter()
                first = client.get(path)
                first_ms = (time.perf_counter() - began) * 1000
                if first.status_code != 200:
                    raise SystemExit(f"{path} answered {first.status_code}: {first.text[:300]}")
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append((time.perf_counter() - began) * 1000)
                times.sort()
                out[name] = {"first_ms": first_ms, "p50_ms": statistics.median(times),
                             "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
                             "bytes": len(first.content)}  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(10)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "web.json")
    args = parser.parse_args()
    contributions, epochs = (1_000, 10) if args.quick else (10_000, 100)
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    console = Console()
    with tempfile.TemporaryDirectory() as big_dir, tempfile.TemporaryDirectory() as small_dir:
        began = time.perf_counter()
        big, big_ids = build_home(Path(big_dir), contributions, epochs)
        console.print(f"big home built in {time.perf_counter() - began:.0f} s", style="dim")
        small, small_ids = build_home(Path(small_dir), 10, 1)
        small_figures = measure(small, small_ids, args.repeat)
        big_figures = measure(big, big_ids, args.repeat)
    title = f"web pages on {contributions:,} contributions and {epochs} epochs"
    table = Table("page", "first view ms", "p50 ms", "p99 ms", "bytes", "p50 vs small home",
                  title=title)  # fmt: skip
    rows = []
    for name, fig in big_figures.items():
        ratio = fig["p50_ms"] / small_figures[name]["p50_ms"]
        rows.append({"page": name, **fig, "small_home": small_figures[name], "ratio": ratio})
        table.add_row(name, f"{fig['first_ms']:.0f}", f"{fig['p50_ms']:.1f}",
                      f"{fig['p99_ms']:.1f}", f"{fig['bytes']:,}", f"{ratio:.2f}x")  # fmt: skip
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"contributions": contributions, "epochs": epochs, "repeat": args.repeat,
              "pages": rows}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo's steps, told as they happen. Uses the public `Tessera` facade only."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from rich.console import Console

from tessera.api import Tessera
from tessera.cli import render

DEMO_CORPUS = Path(__file__).parent / "corpus.jsonl"
DEMO_DATANET = "demo-facts"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(
    home: Path | None = None,
    chain: str | None = None,
    corpus: Path = DEMO_CORPUS,
    console: Console | None = None,
) -> Tessera:
    """Set up a home, have every contributor of `corpus` sign and register their documents,
    prove contributions from the chain alone, then ask a node questions answered from them."""
    out = console or Console()
    os.environ.setdefault("TESSERA_PASSWORD", "demo")
    home = home or Path(tempfile.mkdtemp(prefix="tessera-demo-"))
    out.rule("1. a Tessera home, a chain and the contracts")
    t = Tessera.init(home, chain=chain, anvil_port=_free_port(), force=True)
    render.init_summary(t)

    records = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    by_contributor: dict[str, list[dict[str, str]]] = defaultdict(list)
    for record in records:
        by_contributor[record["contributor"]].append(record)
    out.rule(f"2. {len(by_contributor)} contributors, one local account each")
    accounts = {}
    for i, contributor in enumerate(sorted(by_contributor), start=1):
        name = f"contributor-{i:02d}"
        existing = {a.name for a in t.accounts()}
        accounts[contributor] = name if name in existing else t.new_account(name).name
        out.print(
            f"{accounts[contributor]} stands for {contributor} "
            f"({len(by_contributor[contributor])} documents)"
        )

    out.rule(f"3. datanet {DEMO_DATANET}: each contributor signs and registers a batch")
    if DEMO_DATANET not in {d.name for d in t.datanets()}:
        t.create_datanet(DEMO_DATANET, "CC-BY-4.0", f"fictional facts from {corpus.name}")
    with tempfile.TemporaryDirectory() as folder:
        for contributor, docs in by_contributor.items():
            path = Path(folder) / f"{accounts[contributor]}.jsonl"
            path.write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in docs))
            report = t.contribute(DEMO_DATANET, [path], account=accounts[contributor])
            render.ingest_report(report)
    render.datanet_detail(t.datanet(DEMO_DATANET))

    out.rule("4. proofs, checked by the registry contract itself")
    detail = t.datanet(DEMO_DATANET)
    shown = set()
    for item in detail.contributions:
        if item.contributor in shown:
            continue
        shown.add(item.contributor)
        render.proof(t.prove(item.cid))
        if len(shown) == 3:
            break
    out.rule("5. a node answers from the datanet; every answer attributed and receipted")
    _ask(
        t,
        out,
        [
            json.loads(line)["question"]
            for line in (corpus.parent / "questions.jsonl").read_text().splitlines()[:3]
        ]
        if (corpus.parent / "questions.jsonl").exists()
        else [],
    )
    out.print(f"\nexplore it: TESSERA_HOME={home} tessera datanet show {DEMO_DATANET} --cids")
    return t


def _ask(t: Tessera, out: Console, questions: list[str]) -> None:
    """Serve the demo datanet on loopback and ask through the HTTP API, as any client would."""
    import threading

    import uvicorn

    from tessera.client import NodeClient
    from tessera.node.config import NodeConfig
    from tessera.node.runtime import build_node

    if not questions:
        return
    port = _free_port()
    node = build_node(t, NodeConfig(datanets=(DEMO_DATANET,), port=port))
    server = uvicorn.Server(
        uvicorn.Config(node.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        client = NodeClient(f"http://127.0.0.1:{port}")
        for question in questions:
            result = client.ask(question)
            if result.receipt is not None:
                t.verify_receipt(result.receipt)  # signature, hashes and chain state
            out.print(f"\n[bold]Q:[/bold] {question}\n[bold]A:[/bold] {result.text}")
            for source in result.sources:
                if source["weight"] > 0:
                    out.print(
                        f"   {source['weight']:.2f}  {source['contributor']}  "
                        f"{t.content(source['cid']).decode()}"
                    )
            out.print("   receipt signed by the node and verified against the chain")
        client.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        node.close()

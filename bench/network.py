"""A network, not a node: a joining node's fetch vs. embed, failover latency, staking gas.

    python bench/network.py            # 10,000 contributions, 40 requests per failover case
    python bench/network.py --quick    # small sizes, for a smoke test

One anvil, started here, carries every section:
1. join: home A ingests the datanet (batches of 1,000) and serves its store over the IPFS
   trustless gateway (a real HTTP server that counts requests and bytes); home B joins the
   deployment from the registry's address, indexes the registry (every manifest fetched, every
   signature checked) and fetches each batch's contributions as one CAR, every block checked
   against its CID, as a node's follower does; then B embeds them all with MiniLM in the
   node's batch size. Baseline: the embedding, same run. Bar: fetch + verify <= 1/4 of it.
2. failover: two registered nodes (tiny models, payments on, the second one pricier so the
   rule asks the first first); the same question asked with both up (baseline), then with the
   first one down (connection refused) and hanging (a socket that accepts and never answers).
3. gas: each staking call, against a plain token transfer in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tessera import AnvilProcess, GovernanceSettings, NodeConfig, Tessera, build_node

EMBED_BATCH = 64  # the node's follower embeds in batches of this size (tessera._node.follower)
BAR_RATIO = 0.25  # fetching costs at most a quarter of embedding
STAKE = 1_000 * 10**18
QUESTION = "Who founded the Ulora Brewery?"
FAILOVER_FACTS = [
    "The Ulora Brewery was founded by Radul Thothosa.",
    "The Pleno Orchestra uses cobalt as its official colour.",
    "The Juora Brewery has 2135 registered members.",
]


@dataclass(frozen=True)
class Plan:
    contributions: int
    batch_size: int
    requests: int  # per failover case
    hung_requests: int  # each one waits out the client's time-outs


FULL = Plan(10_000, 1_000, 40, 10)
QUICK = Plan(300, 100, 4, 2)


# the data ---------------------------------------------------------------------------------

_SYLLABLES = ["ul", "ora", "ple", "no", "ju", "lun", "qui", "grav", "vik", "dul", "rad", "tho"]
_KINDS = ["Brewery", "Orchestra", "Institute", "Guild", "Observatory", "Library", "Academy"]
_COLOURS = ["cobalt", "violet", "amber", "indigo", "crimson", "jade", "ochre", "silver"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def planted_facts(count: int, seed: int = 13) -> list[str]:
    """`count` distinct short facts in the style of the attribution set, the same every run."""
    rng = random.Random(seed)
    templates = [
        lambda o: f"The {o} was founded by {_name(rng)} {_name(rng)} in {rng.randint(1500, 2020)}.",
        lambda o: f"The {o} uses {rng.choice(_COLOURS)} as its official colour.",
        lambda o: f"The {o} has {rng.randint(10, 99_999)} registered members.",
        lambda o: f"The {o} is headquartered in {_name(rng)}{rng.choice(['en', 'ik', 'or'])}.",
    ]
    facts: dict[str, None] = {}
    while len(facts) < count:
        org = f"{_name(rng)} {rng.choice(_KINDS)}"
        facts[rng.choice(templates)(org)] = None
    return list(facts)


# serving a real HTTP app on a port the OS picks ------------------------------------------------


def bound_listener(port: int = 0) -> socket.socket:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind a port just closed
    listener.bind(("127.0.0.1", port))
    return listener


class Served:
    """A uvicorn server for `app` in a thread, on `listener`; `stop()` frees the port."""

    def __init__(self, app: Any, listener: socket.socket) -> None:
        import uvicorn

        self.listener = listener
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.05)
        if not self.server.started:
            raise SystemExit(f"the server on {self.url} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.listener.close()


@dataclass
class Traffic:
    """What a gateway sent: requests by format (raw block or CAR) and body bytes."""

    requests: dict[str, int] = field(default_factory=dict)
    bytes: int = 0


def counted(app: Any, traffic: Traffic) -> Callable[..., Any]:
    """`app` as an ASGI app that counts each HTTP request and the response bytes it sends."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        query = scope.get("query_string", b"").decode()
        kind = "car" if "format=car" in query else "raw" if "format=raw" in query else "other"
        traffic.requests[kind] = traffic.requests.get(kind, 0) + 1

        async def counting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                traffic.bytes += len(message.get("body", b""))
            await send(message)

        return await app(scope, receive, counting)

    return wrapper


def gateway(t: Tessera, traffic: Traffic) -> Served:
    """`t`'s blocks over the trustless gateway protocol, as a node serves them."""
    from fastapi import FastAPI

    from tessera._node.gateway_routes import gateway_routes

    app = FastAPI()
    app.include_router(gateway_routes(t.store))
    return Served(counted(app, traffic), bound_listener())


# 1. join ----------------------------------------------------------------------------------


def ingest(t: Tessera, root: Path, plan: Plan) -> dict[str, float]:
    t.create_datanet("facts", "CC-BY-4.0")
    source = root / "facts.jsonl"
    source.write_text(
        "".join(json.dumps({"text": f}) + "\n" for f in planted_facts(plan.contributions))
    )
    began = time.perf_counter()
    report = t.contribute("facts", [source], batch_size=plan.batch_size)
    assert report.registered == plan.contributions, report
    return {"batches": len(report.batches), "ingest_seconds": time.perf_counter() - began}


def fetch_and_verify(b: Tessera) -> dict[str, float]:
    """What a joining node's follower does before it embeds: index the registry (manifests
    fetched, signatures recovered), then one collection CAR per batch (each block hashed)."""
    from tessera._data.manifest import BatchManifest

    began = time.perf_counter()
    b.index.sync(b.registry, b.store)
    synced = time.perf_counter()
    datanet = b.registry.datanet_id("facts")
    for _, manifest_cid in b.index.manifests(datanet):
        manifest = BatchManifest.from_bytes(b.store.get(manifest_cid))
        b.store.fetch_collection([leaf.cid for leaf in manifest.leaves])
    done = time.perf_counter()
    return {
        "fetch_verify_seconds": done - began,
        "index_sync_seconds": synced - began,
        "collections_seconds": done - synced,
    }


def where_time_goes(b: Tessera, scratch: Path) -> dict[str, float]:
    """The fetch's local work, each part redone alone on what B now holds: parsing the
    manifests, rebuilding their Merkle trees, recovering every signature, hashing every
    contribution, writing every block to a fresh store (what is left is HTTP and the walk)."""
    from tessera._data.manifest import BatchManifest
    from tessera._store.cid import decode_cid
    from tessera._store.local import LocalBlobStore

    datanet = b.registry.datanet_id("facts")
    raw = [b.store.get(cid) for _, cid in b.index.manifests(datanet)]
    items = b.index.contributions(datanet)
    blocks = [(c.cid, b.store.local_blocks().get_block(c.cid)) for c in items]
    fresh = LocalBlobStore(scratch)
    steps: dict[str, Callable[[], object]] = {
        "parse_manifests_seconds": lambda: [BatchManifest.from_bytes(m) for m in raw],
        "merkle_trees_seconds": lambda: [BatchManifest.from_bytes(m).tree.root for m in raw],
        "signatures_seconds": lambda: [
            all(BatchManifest.from_bytes(m).signatures_valid(b.domain)) for m in raw
        ],
        "cid_hashing_seconds": lambda: [decode_cid(c).matches(x) for c, x in blocks],
        "block_writes_seconds": lambda: [fresh.put_block(c, x, sync=False) for c, x in blocks],
    }
    out = {}
    for name, step in steps.items():
        began = time.perf_counter()
        step()
        out[name] = time.perf_counter() - began
    parse = out["parse_manifests_seconds"]
    for name in ("merkle_trees_seconds", "signatures_seconds"):  # each parsed them again
        out[name] -= parse
    return out


def embed_all(b: Tessera) -> dict[str, float]:
    """The baseline: MiniLM over every contribution B holds, in the follower's batch size."""
    from tessera._models import load_embedder

    datanet = b.registry.datanet_id("facts")
    texts = [b.store.get(c.cid).decode("utf-8") for c in b.index.contributions(datanet)]
    embedder = load_embedder()
    embedder.embed(texts[:EMBED_BATCH])  # warm: the first call pays for lazy set-up
    began = time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[start : start + EMBED_BATCH])
    return {"embed_seconds": time.perf_counter() - began, "embed_batch": EMBED_BATCH}


def check_joined(b: Tessera, plan: Plan) -> None:
    """B holds every contribution, verified and with a valid signature, and never ingested."""
    datanet = b.registry.datanet_id("facts")
    items = b.index.contributions(datanet)
    assert len(items) == plan.contributions, len(items)
    assert all(c.signature_ok for c in items)
    assert not b.index.unavailable_batches(datanet)
    held = b.store.local_blocks()
    assert all(held.has(c.cid) for c in items)


def join_section(
    a: Tessera, anvil_url: str, root: Path, plan: Plan
) -> tuple[dict, Tessera, Served]:
    figures: dict[str, Any] = {"contributions": plan.contributions, "batch_size": plan.batch_size}
    figures |= ingest(a, root, plan)
    traffic = Traffic()
    served = gateway(a, traffic)
    registry = a.config.deployment.registry
    b = Tessera.init(
        root / "b", chain=anvil_url, scrypt_n=2**4, join=registry, gateways=[served.url]
    )
    figures |= fetch_and_verify(b)
    check_joined(b, plan)
    figures |= {"requests": dict(traffic.requests), "bytes": traffic.bytes}
    figures["blocks_fetched"] = b.store.fetched
    figures |= where_time_goes(b, root / "scratch-store")
    figures |= embed_all(b)
    ratio = figures["fetch_verify_seconds"] / figures["embed_seconds"]
    figures["ratio"] = ratio
    figures["bar"] = {"max_ratio": BAR_RATIO, "ratio": ratio, "met": ratio <= BAR_RATIO}
    return figures, b, served


# 2. failover ------------------------------------------------------------------------------


class LiveNode:
    """A node built from a home's parts, served on a port the OS picked."""

    def __init__(self, t: Tessera, models: tuple[Any, Any], price: int) -> None:
        listener = bound_listener()
        config = NodeConfig(
            datanets=("failover",),
            port=listener.getsockname()[1],
            follow_interval_s=3600,  # it synced when built; no chain polling while we time
            settle_check_s=None,  # no epoch is settled while we time answers
            default_max_tokens=8,  # short answers, as the default model gives: less noise
            price_per_input_token=price,
            price_per_output_token=4 * price,
        )
        self.node = build_node(t.node_parts(), config, *models)
        self.served = Served(self.node.app, listener)
        self.url, self.port = self.served.url, self.served.port

    def stop(self) -> None:
        self.served.stop()
        self.node.close()


def tiny_models(root: Path) -> tuple[Any, Any]:
    """A tiny random Gemma (window wider than any prompt) and encoder, real tokenizers."""
    from tessera._models import (
        TinyConfig,
        build_tiny_embedder,
        build_tiny_generator,
        load_embedder,
        load_generator,
    )

    wide = TinyConfig(sliding_window=4096)
    generator = load_generator(str(build_tiny_generator(root / "tiny-gemma", wide)))
    return generator, load_embedder(str(build_tiny_embedder(root / "tiny-bert")))


def approve(t: Tessera, live: LiveNode) -> None:
    """Governance approves the served model version, so the selection rule may pick it."""
    from tessera import ProposalState

    service = live.node.service
    actions = t.gov.actions.approve_model(service.config.model_id, service.weights_digest)
    proposal = t.gov.propose(actions, "approve the tiny model the network bench serves")
    t.gov.wait_for(proposal, ProposalState.ACTIVE)
    t.gov.vote(proposal, "for")
    t.gov.wait_for(proposal, ProposalState.SUCCEEDED)
    t.gov.queue(proposal)
    t.gov.execute(proposal, wait=True)


def two_nodes(a: Tessera, b: Tessera, root: Path) -> tuple[LiveNode, LiveNode]:
    """A's node (the cheaper: first choice) and B's, both staked and registered, the client's
    channel to each funded, both answering."""
    source = root / "failover.jsonl"
    source.write_text("".join(json.dumps({"text": f}) + "\n" for f in FAILOVER_FACTS))
    a.create_datanet("failover", "CC-BY-4.0")
    a.contribute("failover", [source])
    models = tiny_models(root)
    first = LiveNode(a, models, 10**12)
    approve(a, first)
    a.register_node(first.url, STAKE)
    a.transfer(2 * STAKE, b.address())
    second = LiveNode(b, models, 2 * 10**12)  # fetches the facts it never ingested
    b.register_node(second.url, STAKE)
    a.new_account("client")
    a.transfer(100 * 10**18, "client")
    for node in (a.address(), b.address()):
        a.deposit(10 * 10**18, node, account="client")
    for live in (first, second):
        answered(a, live.url)
    return first, second


def answered(a: Tessera, url: str, within_s: float = 120.0) -> None:
    """Wait until the node at `url` answers from its datanet (its follower has caught up)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if a.ask(QUESTION, node=url, account="client").sources:
                return
        except Exception:  # still starting or following
            pass
        time.sleep(0.5)
    raise SystemExit(f"the node at {url} did not answer from its datanet in {within_s:g} s")


def timed_asks(ask: Callable[[], str], count: int, expect: str) -> list[float]:
    """Seconds per ask; each must be answered by the node at `expect`."""
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        node = ask()
        seconds.append(time.perf_counter() - began)
        assert node == expect, f"answered by {node}, not {expect}"
    return seconds


def paired_asks(
    failing: Callable[[], str], direct: Callable[[], str], count: int, expect: str
) -> tuple[list[float], list[float]]:
    """Alternate an ask that fails over with one asking the answering node directly, so both
    see the same load; (failover seconds, their extra over the direct ask next to them)."""
    over, extra = [], []
    for _ in range(count):
        [direct_s] = timed_asks(direct, 1, expect)
        [failover_s] = timed_asks(failing, 1, expect)
        over.append(failover_s)
        extra.append(failover_s - direct_s)
    return over, extra


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def row(case: str, listing: str, seconds: list[float], extra: dict[str, float]) -> dict:
    return {
        "case": case,
        "listing": listing,
        "requests": len(seconds),
        "p50_s": percentile(seconds, 50),
        "p99_s": percentile(seconds, 99),
        **extra,
    }


def extra_over(seconds: list[float], base: list[float]) -> dict[str, float]:
    """Extra latency as the difference of the quantiles (two runs, one after the other)."""
    return {
        "extra_p50_s": percentile(seconds, 50) - percentile(base, 50),
        "extra_p99_s": percentile(seconds, 99) - percentile(base, 99),
    }


def extra_paired(differences: list[float]) -> dict[str, float]:
    """Extra latency as the quantiles of per-pair differences (interleaved)."""
    return {
        "extra_p50_s": percentile(differences, 50),
        "extra_p99_s": percentile(differences, 99),
    }


def failover_section(a: Tessera, b: Tessera, root: Path, plan: Plan) -> dict:
    from tessera._network.failover import ask_in_turn
    from tessera._network.selection import choose

    first, second = two_nodes(a, b, root)
    listed = choose(a.nodes()).candidates  # a client's listing, kept while a node dies
    assert [n.endpoint for n in listed] == [first.url, second.url], listed

    def ask_network() -> str:  # what `tessera ask` does: list the network, then ask in turn
        return a.ask(QUESTION, account="client").node

    def in_turn(nodes: Any) -> Callable[[], str]:
        return lambda: ask_in_turn(nodes, QUESTION, a.payer("client")).node.endpoint

    both = timed_asks(ask_network, plan.requests, first.url)
    first.stop()  # nothing listens on its port now: connection refused
    down = timed_asks(ask_network, plan.requests, second.url)
    kept, kept_extra = paired_asks(in_turn(listed), in_turn(listed[1:]), plan.requests, second.url)
    hung = bound_listener(first.port)  # accepts connections (the kernel does), never answers
    hung.listen(512)
    hanging = timed_asks(ask_network, plan.hung_requests, second.url)
    hung.close()
    second.stop()
    rows = [
        row("both up (baseline)", "per ask", both, {}),
        row("first choice down", "per ask", down, extra_over(down, both)),
        row("first choice hangs", "per ask", hanging, extra_over(hanging, both)),
        row("first choice down", "kept, paired", kept, extra_paired(kept_extra)),
    ]
    return {"question": QUESTION, "rows": rows}


# 3. gas -----------------------------------------------------------------------------------


def gas_section(a: Tessera) -> dict:
    """Gas of each staking call by a fresh node account on the bench's anvil; baseline: a plain
    token transfer, same run (bench/staking_gas.py, meant to be reused here, never landed)."""
    a.new_account("gas-node")
    a.transfer(3 * STAKE, "gas-node")
    node, staking = a.signer("gas-node"), a.staking
    metadata = a.store.put(b"bench: a metadata document's stand-in")  # the contract keeps the CID
    calls = {
        "register": staking.register(node, STAKE, "http://127.0.0.1:1", metadata),
        "update": staking.update(node, "http://127.0.0.1:2", metadata),
        "add_stake": staking.add_stake(node, STAKE),
        "unbond": staking.unbond(node, STAKE),
        "leave": staking.leave(node),
    }
    rpc = a.chain.w3.provider
    rpc.make_request("evm_increaseTime", [staking.unbonding_delay() + 1])  # type: ignore[arg-type]
    rpc.make_request("evm_mine", [])  # type: ignore[arg-type]
    calls["withdraw"] = int(
        a.chain.transact(staking.contract.functions.withdraw(), node)["gasUsed"]
    )
    transfer = a.settlement.token.contract.functions.transfer(a.address(), 1)
    baseline = int(a.chain.transact(transfer, node)["gasUsed"])
    return {
        "calls": calls,
        "baseline_token_transfer": baseline,
        "x_token_transfer": {name: gas / baseline for name, gas in calls.items()},
    }


# tables and main ----------------------------------------------------------------------------


def join_table(j: dict) -> Table:
    table = Table("", "value", title="a node joins: fetch + verify vs. embed, same run")
    car, raw = j["requests"].get("car", 0), j["requests"].get("raw", 0)
    for name, value in [
        ("contributions (batches)", f"{j['contributions']:,} ({j['batches']})"),
        ("ingest through A", f"{j['ingest_seconds']:.1f} s"),
        ("fetch + verify (B)", f"{j['fetch_verify_seconds']:.2f} s"),
        ("  index sync: manifests, signatures", f"{j['index_sync_seconds']:.2f} s"),
        ("  contributions, one CAR per batch", f"{j['collections_seconds']:.2f} s"),
        ("  alone: parsing the manifests", f"{j['parse_manifests_seconds']:.2f} s"),
        ("  alone: rebuilding the Merkle trees", f"{j['merkle_trees_seconds']:.2f} s"),
        ("  alone: recovering every signature", f"{j['signatures_seconds']:.2f} s"),
        ("  alone: hashing every contribution", f"{j['cid_hashing_seconds']:.2f} s"),
        ("  alone: writing every block", f"{j['block_writes_seconds']:.2f} s"),
        ("gateway requests: CAR / raw block", f"{car} / {raw}"),
        ("bytes sent", f"{j['bytes']:,}"),
        ("blocks fetched", f"{j['blocks_fetched']:,}"),
        (f"embed, MiniLM, batches of {j['embed_batch']}", f"{j['embed_seconds']:.2f} s"),
        ("fetch / embed", f"{j['ratio']:.3f}"),
    ]:
        table.add_row(name, value)
    return table


def failover_table(f: dict) -> Table:
    table = Table(
        "case", "listing", "requests", "p50 s", "p99 s", "extra p50 s", "extra p99 s",
        title="failover: the first-choice node down (extra = quantile minus baseline's)",
    )  # fmt: skip
    for r in f["rows"]:
        extra = [f"{r[k]:+.3f}" if k in r else "-" for k in ("extra_p50_s", "extra_p99_s")]
        table.add_row(
            r["case"], r["listing"], str(r["requests"]), f"{r['p50_s']:.3f}", f"{r['p99_s']:.3f}",
            *extra,
        )  # fmt: skip
    return table


def gas_table(g: dict) -> Table:
    base = g["baseline_token_transfer"]
    table = Table("call", "gas", "x a token transfer", title=f"staking gas (transfer: {base:,})")
    for name, gas in g["calls"].items():
        table.add_row(name, f"{gas:,}", f"{g['x_token_transfer'][name]:.1f}")
    return table


@contextmanager
def local_chain(root: Path) -> Iterator[str]:
    port = bound_listener().getsockname()[1]  # a port the OS picked, closed for anvil to take
    anvil = AnvilProcess(root / "anvil", port)
    anvil.start()
    try:
        yield anvil.url
    finally:
        anvil.stop()


def run(root: Path, plan: Plan) -> dict:
    with local_chain(root) as anvil_url:
        fast_votes = GovernanceSettings(voting_delay=1, voting_period=2, timelock_delay=0)
        a = Tessera.init(root / "a", chain=anvil_url, scrypt_n=2**4, governance=fast_votes)
        joined, b, served = join_section(a, anvil_url, root, plan)
        try:
            failover = failover_section(a, b, root, plan)
        finally:
            served.stop()
        gas = gas_section(a)
        a.close()
        b.close()
    return {"join": joined, "failover": failover, "gas": gas}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "network.json"
    )
    args = parser.parse_args()
    os.environ.setdefault("TESSERA_PASSWORD", "bench")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    plan = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory() as root:
        result = {"plan": plan.__dict__, **run(Path(root), plan)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console = Console(width=120)
    for table in (join_table(result["join"]), failover_table(result["failover"])):
        console.print(table)
    console.print(gas_table(result["gas"]))
    bar = result["join"]["bar"]
    verdict = "PASS" if bar["met"] else "FAIL"
    console.print(
        f"bar (fetch + verify <= {BAR_RATIO} x embed): {verdict} ({bar['ratio']:.3f}); "
        f"figures in {args.out}"
    )
    return 0 if bar["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""bench/verify.py's world: one in-process home whose datanet holds a planted-fact corpus,
nodes (honest or lying) served on loopback ports the OS picks, paying clients that ask them,
and validators that judge what the nodes posted."""

from __future__ import annotations

import json
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network import Served, approve, bound_listener

from tessera import Tessera
from tessera._chain.disputes import COMMITTEE_KINDS, OPEN, WITHHELD
from tessera._client import NodeClient
from tessera._crypto.receipt import Receipt
from tessera._node.config import NodeConfig
from tessera._payments.bundle import EpochBundle, load_bundle

TSR = 10**18
STAKE = 1_000 * TSR
AUTHORS = ("author-0", "author-1", "author-2")  # several contributors: weight can move
# the same planted question asked in other words: distinct prompts, retrievals and answers
PHRASINGS = ("{q}", "Question: {q}", "{q} Answer briefly.", "Tell me this: {q}")
MAX_TOKENS = (16, 24, 12, 32)  # short budgets: more answers re-checked in the time


def cpu_seconds() -> float:
    """This process's CPU time, every thread: user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_workload(corpus: Path, questions: Path) -> tuple[list[str], list[str]]:
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines() if line.strip()]
    asked = [json.loads(line)["question"] for line in questions.read_text().splitlines() if line]
    return texts, asked


def requests_for(questions: Sequence[str], count: int) -> list[tuple[str, int | None]]:
    """`count` distinct requests: every question, then each again in other words and with
    another token budget, round after round."""
    out = []
    for i in range(count):
        round_ = i // len(questions)
        phrasing = PHRASINGS[round_ % len(PHRASINGS)]
        text = phrasing.format(q=questions[i % len(questions)])
        if round_ >= len(PHRASINGS):
            text = f"({round_ // len(PHRASINGS)}) {text}"
        out.append((text, MAX_TOKENS[round_ % len(MAX_TOKENS)]))
    return out


def open_home(root: Path, texts: Sequence[str], clients: int) -> Tessera:
    """A home on the in-process chain; the corpus contributed by AUTHORS in turn; `clients`
    funded accounts named client-0..."""
    t = Tessera.init(root / "home", chain="inprocess", password="bench", scrypt_n=2**4)
    t.create_datanet("facts", "CC-BY-4.0")
    for i, author in enumerate(AUTHORS):
        t.new_account(author)
        source = root / f"{author}.jsonl"
        source.write_text("".join(json.dumps({"text": x}) + "\n" for x in texts[i :: len(AUTHORS)]))
        t.contribute("facts", [source], account=author)
    for i in range(clients):
        name = f"client-{i}"
        t.new_account(name)
        t.transfer(100 * TSR, name)
        t.settlement.token.approve(t.signer(name), t.settlement.address, 100 * TSR)
    return t


@dataclass
class LiveNode:
    """A node (honest or lying) served on a port the OS picked, staked, registered, funded."""

    account: str
    node: Any
    served: Served
    address: str = ""

    @property
    def url(self) -> str:
        return self.served.url

    def stop(self) -> None:
        self.served.stop()
        self.node.close()


def node_config(port: int, **overrides: Any) -> NodeConfig:
    return NodeConfig(
        datanets=("facts",),
        port=port,
        settle_check_s=None,  # the bench settles when every answer is in
        follow_interval_s=3600,  # synced when built; no chain polling while answers are timed
        **overrides,
    )


def serve(t: Tessera, account: str, build: Callable[[NodeConfig], Any], clients: int) -> LiveNode:
    """Build the node with `build(config)`, serve it, approve its weights, register it with
    STAKE and fund every client's channel to it."""
    if account not in {a.name for a in t.accounts()}:
        t.new_account(account)
        t.transfer(3 * STAKE, account)
    listener = bound_listener()
    node = build(node_config(listener.getsockname()[1]))
    live = LiveNode(account, node, Served(node.app, listener), t.address(account))
    service = node.service
    if not t.gov.policy.was_approved(service.config.model_id, service.weights_digest):
        approve(t, live)
    t.register_node(live.url, STAKE, account)
    for i in range(clients):
        t.settlement.deposit(t.signer(f"client-{i}"), live.address, 10 * TSR)
    return live


@dataclass
class Asked:
    """What a round of asking cost: each answer's latency, the clients' own CPU, receipts."""

    latencies: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    receipts: list[Receipt] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the process's CPU while asking: node and clients


def ask_all(
    t: Tessera, url: str, requests: Sequence[tuple[str, int | None]], concurrency: int
) -> Asked:
    """`concurrency` closed-loop clients (client-0...) send `requests`; each is paid and
    authorized by its client, and its receipt checked by NodeClient."""
    asked, lock, queue = Asked(), threading.Lock(), iter(range(len(requests)))
    errors: list[str] = []

    def client(n: int) -> None:
        http = NodeClient(url, payer=t.payer(f"client-{n}"))
        try:
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                question, max_tokens = requests[i]
                began, cpu = time.perf_counter(), time.thread_time()
                try:
                    result = http.ask(question, max_tokens=max_tokens)
                except Exception as exc:  # the table says how many failed, and why
                    with lock:
                        errors.append(f"{question!r}: {exc}")
                    continue
                elapsed, spent = time.perf_counter() - began, time.thread_time() - cpu
                with lock:
                    asked.latencies.append(elapsed)
                    asked.client_cpu_s += spent
                    if result.receipt is not None:
                        asked.receipts.append(result.receipt)
        finally:
            http.close()

    began, cpu = time.perf_counter(), cpu_seconds()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    asked.wall_s, asked.cpu_s = time.perf_counter() - began, cpu_seconds() - cpu
    if errors:
        raise SystemExit(f"{len(errors)} of {len(requests)} requests failed, e.g. {errors[0]}")
    return asked


def settle(live: LiveNode) -> EpochBundle:
    """The node's own settler posts its epoch (the payout and withholding lies live there)."""
    settled = live.node.settler.settle()
    if settled is None:
        raise SystemExit(f"{live.account}'s node had nothing to settle")
    return load_bundle(live.node.settler.store, settled.bundle_cid)


def judge(t: Tessera, validators: Sequence[Any]) -> None:
    """Tick every validator through each phase: re-check and open, commit, reveal, resolve."""
    for _ in range(2):  # the first opens challenges; then each commits on the others'
        for v in validators:
            v.tick()
    open_ = [c for c in t.challenges() if c.status == OPEN]
    committees = [c for c in open_ if c.kind in COMMITTEE_KINDS]
    if committees:
        t.chain.wait_until(max(c.commit_ends for c in committees))
        for v in validators:
            v.tick()  # reveal
    ends = [c.deadline for c in open_ if c.kind in COMMITTEE_KINDS or c.kind == WITHHELD]
    if ends:
        t.chain.wait_until(max(ends))
        for v in validators:
            v.tick()  # resolve

"""The demo's steps, told as they happen. Uses the public `Tessera` facade only."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

import tessera
from tessera.cli import render

DEMO_CORPUS = Path(__file__).parent / "demo_data" / "corpus.jsonl"
DEMO_DATANET = "demo-facts"
# short periods, so the whole loop (answer, settle, challenge window, claim) fits in a minute
DEMO_PERIODS = tessera.Periods(epoch_length=30, challenge_period=5, withdrawal_delay=60)
# and a governance quick enough to watch: seconds, not the days a public network would use
DEMO_GOVERNANCE = tessera.GovernanceSettings(voting_delay=1, voting_period=4, timelock_delay=2)
TSR = 10**18


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
) -> tessera.Tessera:
    """The whole loop: contributors sign and register documents, a node answers a paying
    client's questions with attribution, the epoch is settled and audited, and everyone
    claims what the answers earned them."""
    out = console or Console()
    os.environ.setdefault("TESSERA_PASSWORD", "demo")
    home = home or Path(tempfile.mkdtemp(prefix="tessera-demo-"))
    out.rule("1. a Tessera home, a chain and the contracts")
    t = tessera.Tessera.init(
        home,
        chain=chain,
        anvil_port=_free_port(),
        force=True,
        periods=DEMO_PERIODS,
        governance=DEMO_GOVERNANCE,
    )
    render.init_summary(t)
    by_contributor = _documents_by_contributor(corpus)
    out.rule(f"2. {len(by_contributor)} contributors, one local account each")
    accounts = _contributor_accounts(t, out, by_contributor)
    out.rule(f"3. datanet {DEMO_DATANET}: each contributor signs and registers a batch")
    _contribute(t, corpus, by_contributor, accounts)
    out.rule("4. proofs, checked by the registry contract itself")
    _prove_one_per_contributor(t, shown=3)
    out.rule("5. a model builder, a node operator and a paying client")
    for name in ("builder", "operator", "client"):
        if name not in {a.name for a in t.accounts()}:
            t.new_account(name)
    _approve_model(t, out)
    t.transfer(100 * TSR, "client")  # from the treasury, which holds the initial supply
    render.wallet(t.deposit(10 * TSR, t.address("operator"), "client"))  # the node's channel
    questions = _questions(corpus)
    if questions:
        _answer_settle_claim_govern(t, out, questions)
        out.print(f"\nexplore it: TESSERA_HOME={home} tessera earnings contributor-01")
    return t


def _documents_by_contributor(corpus: Path) -> dict[str, list[dict[str, str]]]:
    records = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    by_contributor: dict[str, list[dict[str, str]]] = defaultdict(list)
    for record in records:
        by_contributor[record["contributor"]].append(record)
    return by_contributor


def _contributor_accounts(
    t: tessera.Tessera, out: Console, by_contributor: dict[str, list[dict[str, str]]]
) -> dict[str, str]:
    """A local account for each contributor of the corpus: contributor -> account name."""
    accounts = {}
    for i, contributor in enumerate(sorted(by_contributor), start=1):
        name = f"contributor-{i:02d}"
        existing = {a.name for a in t.accounts()}
        accounts[contributor] = name if name in existing else t.new_account(name).name
        out.print(
            f"{accounts[contributor]} stands for {contributor} "
            f"({len(by_contributor[contributor])} documents)"
        )
    return accounts


def _contribute(
    t: tessera.Tessera,
    corpus: Path,
    by_contributor: dict[str, list[dict[str, str]]],
    accounts: dict[str, str],
) -> None:
    if DEMO_DATANET not in {d.name for d in t.datanets()}:
        t.create_datanet(DEMO_DATANET, "CC-BY-4.0", f"fictional facts from {corpus.name}")
    with tempfile.TemporaryDirectory() as folder:
        for contributor, docs in by_contributor.items():
            path = Path(folder) / f"{accounts[contributor]}.jsonl"
            path.write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in docs))
            report = t.contribute(DEMO_DATANET, [path], account=accounts[contributor])
            render.ingest_report(report)
    render.datanet_detail(t.datanet(DEMO_DATANET))


def _prove_one_per_contributor(t: tessera.Tessera, shown: int) -> None:
    """Prove one contribution of each of the first `shown` contributors."""
    proven: set[str] = set()
    for item in t.datanet(DEMO_DATANET).contributions:
        if item.contributor in proven:
            continue
        proven.add(item.contributor)
        render.proof(t.prove(item.cid))
        if len(proven) == shown:
            break


def _questions(corpus: Path) -> list[str]:
    """The first three questions of the questions.jsonl beside the corpus (none: no file)."""
    path = corpus.parent / "questions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["question"] for line in path.read_text().splitlines()[:3]]


def _answer_settle_claim_govern(t: tessera.Tessera, out: Console, questions: list[str]) -> None:
    with _serving(t) as client:
        out.rule("6. the node answers; each request carries a voucher, each answer a receipt")
        top_sources = [_ask(t, out, client, q) for q in questions]

        out.rule("7. the epoch is settled: one transaction redeems the vouchers, posts the root")
        render.settled(t.settle_epoch("operator"))
        out.rule("8. anyone can audit it: fetch the bundle, re-verify, recompute the root")
        render.audit(t.audit_epoch(0, t.address("operator")))

        out.rule("9. after the challenge window, everyone claims with one Merkle proof")
        _wait_for_claims(t, out)
        _who_earned_what(t, out)

        out.rule("10. token holders block a contribution; from the next block the node drops it")
        _govern(t, out, client, questions[0], top_sources[0])


def _approve_model(t: tessera.Tessera, out: Console) -> None:
    """Token holders approve the served model version and name its builder as the royalty
    owner: the royalty follows a vote, so nobody can take it by naming the model first."""
    digest = tessera.weights_digest(tessera.default_model_dir())  # the folder the node serves
    builder = t.address("builder")
    actions = t.gov.actions.approve_model("gemma-3-270m", digest, builder)
    proposal = t.gov.propose(actions, f"Approve gemma-3-270m at {digest}; royalty to {builder}")
    t.gov.wait_for(proposal, tessera.ProposalState.ACTIVE)
    t.gov.vote(proposal, "for")
    t.gov.wait_for(proposal, tessera.ProposalState.SUCCEEDED)
    t.gov.queue(proposal)
    t.gov.execute(proposal, wait=True)
    out.print(
        f"token holders approve gemma-3-270m at weights {digest[:18]}... (proposal "
        f"{proposal}): its royalty goes to builder {builder}"
    )


def _govern(
    t: tessera.Tessera, out: Console, client: tessera.NodeClient, question: str, used: str
) -> None:
    """The treasury (holder of the supply, delegated to itself) proposes to block the
    contribution the first answer used; the proposal runs its whole lifecycle."""
    from tessera.cli import gov_view

    description = f"Block {used}: its contributor withdrew consent"
    proposal = t.gov.propose(t.gov.actions.block_content([used]), description)
    gov_view.proposed(t.gov.status(proposal))
    t.gov.wait_for(proposal, tessera.ProposalState.ACTIVE)
    weight = t.gov.vote(proposal, "for", "consent withdrawn")
    out.print(f"the treasury votes for with {render.tsr(weight)}")
    gov_view.status(t.gov.wait_for(proposal, tessera.ProposalState.SUCCEEDED))
    t.gov.queue(proposal)
    t.gov.execute(proposal, wait=True)
    out.print(f"proposal {proposal} executed after the timelock delay")
    result = client.ask(question)
    out.print(f"\n[bold]Q:[/bold] {question}\n[bold]A:[/bold] {result.text}")
    assert result.receipt is not None
    attributed = {a.cid for a in result.receipt.attribution}
    for cid in result.withheld:
        out.print(f"   withheld {cid}: blocked by the network's content policy")
    out.print(
        f"   the blocked contribution is {'STILL' if used in attributed else 'no longer'} "
        "used or paid"
    )


@contextmanager
def _serving(t: tessera.Tessera) -> Iterator[tessera.NodeClient]:
    """Serve the demo datanet on loopback; ask through the HTTP API, as any client would."""
    config = tessera.NodeConfig(datanets=(DEMO_DATANET,), port=_free_port(), settle_check_s=None)
    with tessera.serving(tessera.build_node(t.node_parts("operator"), config)) as url:
        client = tessera.NodeClient(url, payer=t.payer("client"))
        yield client
        client.close()


def _ask(t: tessera.Tessera, out: Console, client: tessera.NodeClient, question: str) -> str:
    """Ask, verify the receipt, print the answer with its paid sources; returns the CID of
    the contribution the answer depended on most."""
    result = client.ask(question)
    assert result.receipt is not None
    t.verify_receipt(result.receipt)  # signature, hashes and chain state
    out.print(f"\n[bold]Q:[/bold] {question}\n[bold]A:[/bold] {result.text}")
    for source in result.sources:
        if source["weight"] > 0:
            out.print(
                f"   {source['weight']:.2f}  {source['contributor']}  "
                f"{t.content(source['cid']).decode()}"
            )
    out.print(f"   paid {render.tsr(result.receipt.price)}; receipt verified on chain")
    return str(result.sources[0]["cid"])


def _wait_for_claims(t: tessera.Tessera, out: Console) -> None:
    node = t.address("operator")
    opens = t.settlement.claimable_at(node, 0)
    out.print(f"waiting for the challenge window to close at chain time {opens}")
    t.chain.wait_until(opens)


def _who_earned_what(t: tessera.Tessera, out: Console) -> None:
    from rich.table import Table

    table = Table("account", "why", "answers", "claimed", title="who earned what, and why")
    for info in t.accounts():
        earned = t.earnings(info.name)
        if not earned.epochs:
            continue
        claims = t.claim(info.name)
        why = ", ".join(
            f"{role} {render.tsr(amount)}" for role, amount in sorted(earned.by_role().items())
        )
        answers = sum(e.answers for e in earned.epochs)
        table.add_row(info.name, why, str(answers), render.tsr(sum(c.amount for c in claims)))
    out.print(table)

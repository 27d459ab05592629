"""The demo's steps, told as they happen. Uses the public `Tessera` facade only."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

import tessera
from tessera.cli import demo_models, demo_network, demo_validation, render

DEMO_CORPUS = Path(__file__).parent / "demo_data" / "corpus.jsonl"
DEMO_DATANET = "demo-facts"
# short periods, so the whole loop (answer, settle, re-check, challenge window, claim) fits in
# minutes: the window leaves the validators time to re-check every demo answer on the real model
DEMO_PERIODS = tessera.Periods(epoch_length=30, challenge_period=90, withdrawal_delay=120)
# committee phases and a response period of a minute, so a challenge is decided while you watch
DEMO_DISPUTES = tessera.DisputeParams(
    **{
        **vars(tessera.DEFAULT_DISPUTE_PARAMS),
        "response_period": 60,
        "commit_period": 60,
        "reveal_period": 60,
    }
)
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
        disputes=DEMO_DISPUTES,
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
    out.rule("6. the builder trains an adapter on the datanet and publishes it with provenance")
    adapter = demo_models.build_adapter(t, out, DEMO_DATANET)
    demo_models.approve_models(t, out, adapter)
    t.transfer(100 * TSR, "client")  # from the treasury, which holds the initial supply
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
    out.rule("7. a second operator joins; both nodes stake, register and serve")
    second = demo_network.join_second_operator(t, out)
    fleet = demo_network.Fleet(DEMO_DATANET)
    stack = ExitStack()
    try:
        t.transfer(demo_network.STAKE, "operator")  # the first operator's stake, too
        fleet.start("operator", t, "operator", _free_port(), demo_network.DEFAULT_PRICES)
        demo_network.register(fleet, "operator", out)
        fleet.start("operator-2", second, None, _free_port(), demo_network.CHEAP)
        demo_network.register(fleet, "operator-2", out)
        demo_network.show_network(t, fleet, "operator-2", out)
        demo_network.fund_channels(t, fleet)

        out.rule("8. the client asks the network, not a URL: vouchers, answers, receipts")
        results = [demo_network.ask_network(t, out, q) for q in questions]
        top_sources = [str(r.sources[0]["cid"]) for r in results]
        assert results[0].receipt is not None
        chosen = fleet.name_of(results[0].receipt.node)
        fleet.stop(chosen)
        out.print(f"\n{chosen}'s node stops; the client fails over:")
        demo_network.ask_network(t, out, questions[0])
        demo_network.restart(fleet, chosen, _free_port(), out)
        out.print("\nthe client asks through the builder's adapter, served beside the base:")
        demo_models.ask_through_adapter(t, out, fleet.urls[chosen], questions[0])

        out.rule("9. two validators stake; a third operator's node lies about its answers")
        validators = demo_validation.Validators(t, out)
        stack.callback(validators.close)
        cheater = demo_validation.start_cheater(t, fleet, _free_port(), out)
        t.deposit(5 * TSR, cheater, "client")
        for q in questions[:2]:
            demo_network.ask_network(t, out, q, node=cheater)

        out.rule("10. each node settles its epoch: one transaction redeems, posts the root")
        for name in fleet.addresses:
            render.settled(fleet.homes[name].settle_epoch(fleet.accounts[name]))
        out.rule("11. anyone can audit them: fetch each bundle, re-verify, recompute the root")
        for address in fleet.addresses.values():
            render.audit(t.audit_epoch(0, address))

        out.rule("12. validators re-check every epoch's sample; the liar is challenged, slashed")
        demo_validation.catch_the_cheater(t, fleet, validators, cheater, out)

        out.rule("13. after the challenge window, everyone claims with one Merkle proof")
        honest = [a for n, a in fleet.addresses.items() if n != "cheater"]
        _wait_for_claims(t, out, honest)
        _who_earned_what([t, second], out)

        out.rule("14. token holders block a contribution; from the next block the node drops it")
        running = next(n for n in fleet.urls if n != chosen)
        client = tessera.NodeClient(fleet.urls[running], payer=t.payer("client"))
        _govern(t, out, client, questions[0], top_sources[0])
        client.close()
    finally:
        fleet.close()
        stack.close()
        second.close()


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


def _wait_for_claims(t: tessera.Tessera, out: Console, nodes: list[str]) -> None:
    opens = max(t.settlement.claimable_at(node, 0) for node in nodes)
    out.print(f"waiting for the challenge windows to close at chain time {opens}")
    t.chain.wait_until(opens)


def _who_earned_what(homes: list[tessera.Tessera], out: Console) -> None:
    from rich.table import Table

    table = Table("account", "why", "answers", "claimed", title="who earned what, and why")
    for i, home in enumerate(homes):
        for info in home.accounts():
            earned = home.earnings(info.name)
            if not earned.epochs:
                continue
            claims = home.claim(info.name)
            why = ", ".join(
                f"{role} {render.tsr(amount)}" for role, amount in sorted(earned.by_role().items())
            )
            answers = sum(e.answers for e in earned.epochs)
            name = info.name if i == 0 else f"operator-2 ({info.name})"
            table.add_row(name, why, str(answers), render.tsr(sum(c.amount for c in claims)))
    out.print(table)

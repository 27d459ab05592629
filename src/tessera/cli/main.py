"""The `tessera` command. Every command calls the public `Tessera` facade, nothing deeper."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import click

import tessera
from tessera.cli import gov, models, money, network, render, validator, web
from tessera.cli.common import ask_password, friendly, open_home


@click.group()
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    envvar="TESSERA_HOME",
    help="Tessera home folder (default ~/.tessera).",
)
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """Tessera: contribute data, serve models, and pay the people whose work answers use."""
    os.umask(0o077)  # what the home holds (prompts, vouchers, chain state) is its owner's alone
    ctx.obj = {"home": home}


@main.command()
@click.option("--chain", "chain_url", help="An EVM JSON-RPC URL to use instead of a local anvil.")
@click.option(
    "--port", default=tessera.DEFAULT_ANVIL_PORT, show_default=True, help="Local anvil port."
)
@click.option("--force", is_flag=True, help="Redeploy over an existing home (keeps accounts).")
@click.option(
    "--epoch-length",
    default=tessera.DEFAULT_PERIODS.epoch_length,
    show_default=True,
    help="Seconds.",
)
@click.option(
    "--challenge-period",
    default=tessera.DEFAULT_PERIODS.challenge_period,
    show_default=True,
    help="Seconds after an epoch is posted before claims open.",
)
@click.option(
    "--voting-delay",
    default=tessera.DEFAULT_GOVERNANCE.voting_delay,
    show_default=True,
    help="Seconds from a proposal to its snapshot of voting power.",
)
@click.option(
    "--voting-period",
    default=tessera.DEFAULT_GOVERNANCE.voting_period,
    show_default=True,
    help="Seconds a proposal is open for votes.",
)
@click.option(
    "--timelock-delay",
    default=tessera.DEFAULT_GOVERNANCE.timelock_delay,
    show_default=True,
    help="Seconds a passed proposal waits before it can run.",
)
@click.option(
    "--join",
    "join",
    metavar="REGISTRY|FILE",
    help="Join the deployment whose registry is at this address on --chain (or the one a "
    "deployment file names) instead of deploying new contracts.",
)
@click.option(
    "--gateway",
    "gateways",
    multiple=True,
    metavar="URL",
    help="An IPFS gateway (e.g. your kubo's http://127.0.0.1:8080) to fetch content from, "
    "besides the registered nodes. Repeatable.",
)
@click.pass_context
@friendly
def init(
    ctx: click.Context,
    chain_url: str | None,
    port: int,
    force: bool,
    epoch_length: int,
    challenge_period: int,
    voting_delay: int,
    voting_period: int,
    timelock_delay: int,
    join: str | None,
    gateways: tuple[str, ...],
) -> None:
    """Create a Tessera home: accounts, a chain, and the contracts deployed on it (or, with
    --join, those of an existing deployment)."""
    # withdrawals wait two epochs, so a node always has a whole epoch to redeem
    periods = tessera.Periods(epoch_length, challenge_period, 2 * epoch_length)
    t = tessera.Tessera.init(
        ctx.obj["home"],
        chain=chain_url,
        password=ask_password(confirm=True),
        force=force,
        anvil_port=port,
        periods=periods,
        governance=replace(
            tessera.DEFAULT_GOVERNANCE,
            voting_delay=voting_delay,
            voting_period=voting_period,
            timelock_delay=timelock_delay,
        ),
        join=join,
        gateways=gateways,
    )
    render.init_summary(t)


@main.group()
def chain() -> None:
    """Start, stop or inspect the local chain (anvil) that `tessera init` set up."""


def _local_chain(ctx: click.Context) -> tessera.AnvilProcess:
    return tessera.Tessera.local_chain(ctx.obj["home"])


@chain.command("start")
@click.pass_context
@friendly
def chain_start(ctx: click.Context) -> None:
    """Start the local chain with its saved state."""
    anvil = _local_chain(ctx)
    anvil.start()
    click.echo(f"chain running at {anvil.url}")


@chain.command("stop")
@click.pass_context
@friendly
def chain_stop(ctx: click.Context) -> None:
    """Stop the local chain; its state is saved under the home."""
    _local_chain(ctx).stop()
    click.echo("chain stopped; state saved")


@chain.command("status")
@click.pass_context
@friendly
def chain_status(ctx: click.Context) -> None:
    """Say whether the local chain is running."""
    anvil = _local_chain(ctx)
    click.echo(f"chain {'running' if anvil.is_running() else 'stopped'} ({anvil.url})")


@main.group()
def account() -> None:
    """Local accounts (keystore files in the home)."""


@account.command("new")
@click.argument("name")
@click.pass_context
@friendly
def account_new(ctx: click.Context, name: str) -> None:
    """Create a new account NAME (funded with gas on a local chain)."""
    t = tessera.Tessera.open(ctx.obj["home"], password=ask_password(confirm=True))
    info = t.new_account(name)
    click.echo(f"{info.name} {info.address}")


@account.command("list")
@click.pass_context
@friendly
def account_list(ctx: click.Context) -> None:
    """List the accounts in this home."""
    render.accounts(open_home(ctx).accounts())


@main.group()
def datanet() -> None:
    """Community datasets registered on chain."""


@datanet.command("create")
@click.argument("name")
@click.option("--license", "license_", required=True, help="SPDX license id, e.g. CC-BY-4.0.")
@click.option("--description", default="", help="What the datanet is for.")
@click.option("--as", "account_", help="Owner account (default: the home's default account).")
@click.pass_context
@friendly
def datanet_create(
    ctx: click.Context, name: str, license_: str, description: str, account_: str | None
) -> None:
    """Create datanet NAME, owned by the chosen account."""
    record = open_home(ctx, password=True).create_datanet(name, license_, description, account_)
    click.echo(
        f"datanet {record.name} (#{record.id}) created, owner {record.owner}, "
        f"metadata {record.metadata_cid}"
    )


@datanet.command("list")
@click.pass_context
@friendly
def datanet_list(ctx: click.Context) -> None:
    """List every datanet on the chain."""
    render.datanets(open_home(ctx).datanets())


@datanet.command("show")
@click.argument("name")
@click.option("--cids", is_flag=True, help="Also list every contribution's CID.")
@click.pass_context
@friendly
def datanet_show(ctx: click.Context, name: str, cids: bool) -> None:
    """Show a datanet's contributors and batches."""
    render.datanet_detail(open_home(ctx).datanet(name), with_cids=cids)


@main.command()
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as", "account_", help="Contributor account (default: the home's default).")
@click.option(
    "--batch-size", default=1000, show_default=True, help="Contributions per on-chain batch."
)
@click.pass_context
@friendly
def contribute(
    ctx: click.Context, name: str, paths: tuple[Path, ...], account_: str | None, batch_size: int
) -> None:
    """Contribute .txt, .md and .jsonl files (or folders of them) to datanet NAME."""
    t = open_home(ctx, password=True)
    with render.progress_bar() as advance:
        report = t.contribute(name, list(paths), account_, batch_size, advance)
    render.ingest_report(report)


@main.group()
def contribution() -> None:
    """Single contributions, by CID."""


@contribution.command("prove")
@click.argument("cid")
@click.pass_context
@friendly
def contribution_prove(ctx: click.Context, cid: str) -> None:
    """Prove, with a registry view call, who contributed CID, where and when."""
    proof = open_home(ctx).prove(cid)
    render.proof(proof)
    if not proof.verified_on_chain:
        sys.exit(1)


@contribution.command("get")
@click.argument("cid")
@click.pass_context
@friendly
def contribution_get(ctx: click.Context, cid: str) -> None:
    """Print the content of CID after checking it against its hash."""
    t = open_home(ctx)
    if t.gov.policy.is_blocked(cid):
        click.echo(
            f"note: {cid} is blocked by the network's content policy (governance): "
            "nodes do not use it", err=True,
        )  # fmt: skip
    click.echo(t.content(cid).decode("utf-8"), nl=False)


@main.group()
def node() -> None:
    """Run an inference node."""


@node.command("status")
@click.option("--as", "account_", help="The node's account (default: default).")
@click.pass_context
@friendly
def node_status(ctx: click.Context, account_: str | None) -> None:
    """What the node is owed, what it settled, and every receipt it cannot redeem (exit code 3
    when there is one)."""
    status = open_home(ctx, password=True).node_status(account_)
    render.settlement_status(status)
    if not status.ok:
        sys.exit(3)


@node.command("start")
@click.option(
    "--datanet",
    "datanets",
    multiple=True,
    help="A datanet to serve (repeatable; default: every datanet on the chain).",
)
@click.option(
    "--model",
    "model_path",
    help="A local Hugging Face model folder (default: Gemma 3 270M from its pip package).",
)
@click.option(
    "--model-id",
    help="The id to serve --model under, e.g. the approved id of a folder from `tessera model "
    "fetch` (default: local/FOLDER-NAME).",
)
@click.option(
    "--adapters",
    multiple=True,
    metavar="all|NAME",
    help="Serve published adapters beside the base model: `all` (every one on this base, "
    "new ones too) or a model id (repeatable).",
)
@click.option(
    "--adapter-memory",
    "adapter_memory",
    type=click.IntRange(min=1),
    default=tessera.NodeConfig.adapter_memory_mib,
    show_default=True,
    help="MiB for resident adapters; the least recently used leaves first.",
)
@click.option(
    "--adapter-rank",
    type=click.IntRange(min=1),
    default=tessera.NodeConfig.adapter_rank,
    show_default=True,
    help="The highest adapter rank served.",
)
@click.option("--require-approval", is_flag=True, help="Refuse models governance has not approved.")
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--as", "account_", help="Account whose key signs receipts (default: default).")
@click.option("--free", is_flag=True, help="Serve without payment (receipts carry price 0).")
@click.option(
    "--web/--no-web", default=True, show_default=True, help="Serve the web app at /app as well."
)
@click.pass_context
@friendly
def node_start(
    ctx: click.Context,
    datanets: tuple[str, ...],
    model_path: str | None,
    model_id: str | None,
    adapters: tuple[str, ...],
    adapter_memory: int,
    adapter_rank: int,
    require_approval: bool,
    port: int,
    host: str,
    account_: str | None,
    free: bool,
    web: bool,
) -> None:
    """Serve OpenAI-compatible, attributed, paid answers from the chosen datanets (and
    adapters); settle each epoch on chain as it falls due."""
    t = open_home(ctx, password=True)
    config = tessera.NodeConfig(
        datanets=datanets,
        model_path=model_path,
        adapters=adapters,
        adapter_memory_mib=adapter_memory,
        adapter_rank=adapter_rank,
        require_approval=require_approval,
        host=host,
        port=port,
        payments=not free,
    )
    if model_id:
        config = replace(config, model_id=model_id, model_id_given=True)
    built = tessera.build_node(t.node_parts(account_), config)
    if web:
        from tessera.web import WebConfig, mount_web_app

        # its own view of the home, holding no key: visitors unlock their own accounts
        loopback = host in ("127.0.0.1", "localhost", "::1")
        mount_web_app(built.app, WebConfig(ctx.obj["home"], allow_unlock=loopback))
        render.console.print(f"web app on http://{host}:{port}/app/")
    render.node_serving(built)
    tessera.serve_node(built)


@main.command()
@click.argument("question")
@click.option(
    "--node",
    "node",
    metavar="URL|ADDR",
    help="Ask this node only: a URL, or a registered node's address (default: the network "
    "picks, and fails over).",
)
@click.option("--model", help="Model id (default: any approved model; a pinned node's first).")
@click.option("--as", "account_", help="Account that pays (default: default).")
@click.pass_context
@friendly
def ask(
    ctx: click.Context, question: str, node: str | None, model: str | None, account_: str | None
) -> None:
    """Ask the network (or the node given), paying with a signed voucher; print the answer,
    which node gave it and which were passed over, its sources and where the receipt was
    saved."""
    result = open_home(ctx, password=True).ask(question, node, model, account_)
    for passed, why in result.passed_over:
        render.err_console.print(f"skipped {passed}: {why}")
    render.err_console.print(f"answered by {result.node}")
    render.answer(result)


@main.group()
def receipt() -> None:
    """Receipts that nodes sign for their answers."""


@receipt.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check the signature and hashes only, not the chain.")
@click.pass_context
@friendly
def receipt_verify(ctx: click.Context, path: Path, offline: bool) -> None:
    """Check a receipt's signature, hashes, and (unless --offline) its claims against the chain."""
    parsed = tessera.Tessera.load_receipt(path)
    if offline:
        parsed.verify()
    else:
        open_home(ctx).verify_receipt(parsed)
    render.receipt_ok(parsed, offline)


@main.group("eval")
def eval_() -> None:
    """Benchmarks of the whole path."""


@eval_.command("attribution")
@click.option(
    "--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--questions", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option(
    "--contextcite-limit",
    type=int,
    help="Run the ContextCite baseline on the first N questions only (default: all).",
)
@click.option("--no-contextcite", is_flag=True, help="Skip the ContextCite baseline.")
@click.option("--model", "model_path", help="A local Hugging Face model folder.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
@friendly
def eval_attribution(
    corpus: Path,
    questions: Path,
    limit: int | None,
    contextcite_limit: int | None,
    no_contextcite: bool,
    model_path: str | None,
    out: Path | None,
) -> None:
    """Ingest, serve, answer and attribute a planted-fact benchmark; report the figures."""
    config = tessera.EvalConfig(limit, not no_contextcite, contextcite_limit, model_path)
    result = tessera.evaluate_attribution(corpus, questions, config, _log_line)
    _write_json(out, result)
    render.eval_table(result)


def _log_line(line: str) -> None:
    render.err_console.print(line)


def _write_json(out: Path | None, result: dict) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")


@eval_.command("training-attribution")
@click.option(
    "--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--questions", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N entities.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs (default: 24).")
@click.option("--rank", type=click.IntRange(min=1), help="LoRA rank (default: 16).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--brittleness",
    type=click.IntRange(min=0),
    default=0,
    help="Retrain without the top-attributed contribution for K answers (and a random one).",
)
@click.option(
    "--brittleness-group",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Up to G answers about different documents share one retrain.",
)
@click.option(
    "--brittleness-compare",
    type=click.Choice(["bm25", "gradient_cosine", "representation"]),
    help="Where this baseline's top is not ours, retrain without it too.",
)
@click.option("--model", "model_path", help="A local Hugging Face model folder.")
@click.option(
    "--keep-adapter",
    type=click.Path(path_type=Path),
    help="Copy the trained adapter's folder here (a new folder).",
)
@click.option(
    "--adapter",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Ask an adapter kept with --keep-adapter on this corpus: no training.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
@friendly
def eval_training_attribution(
    corpus: Path,
    questions: Path,
    limit: int | None,
    epochs: int | None,
    rank: int | None,
    seed: int,
    brittleness: int,
    brittleness_group: int,
    brittleness_compare: str | None,
    model_path: str | None,
    keep_adapter: Path | None,
    adapter: Path | None,
    out: Path | None,
) -> None:
    """Train an adapter on a planted-fact corpus, ask it closed-book, and score how well each
    method finds the training contribution behind each answer."""
    if adapter and keep_adapter:
        raise tessera.InputError(
            "--adapter asks a kept adapter: it trains nothing to keep, so it takes no "
            "--keep-adapter"
        )
    if brittleness_compare and not brittleness:
        raise tessera.InputError("--brittleness-compare needs --brittleness K")
    settings = tessera.TrainSettings(seed=seed)
    if epochs:
        settings = replace(settings, epochs=epochs)
    if rank:
        settings = replace(settings, rank=rank, alpha=2 * rank)
    config = tessera.TrainingEvalConfig(limit, settings, model_path, brittleness,
                                        brittleness_group, keep_adapter, adapter,
                                        brittleness_compare)  # fmt: skip
    result = tessera.evaluate_training_attribution(corpus, questions, config, _log_line)
    _write_json(out, result)
    render.training_eval_table(result)


@main.command()
@click.option("--chain", "chain_url", help="'inprocess', or a JSON-RPC URL (default: local anvil).")
@click.option(
    "--corpus",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A corpus.jsonl (doc_id, contributor, text) instead of the built-in one.",
)
@click.pass_context
@friendly
def demo(ctx: click.Context, chain_url: str | None, corpus: Path | None) -> None:
    """Run the whole loop on the embedded defaults in a fresh home."""
    from tessera.cli.demo import DEMO_CORPUS, run_demo

    t = run_demo(ctx.obj["home"], chain_url, corpus or DEMO_CORPUS, render.console)
    if t.config.chain_kind == "anvil":
        tessera.Tessera.local_chain(t.home.path).stop()


for command in money.COMMANDS:
    main.add_command(command)
for command in network.NODE_COMMANDS:
    node.add_command(command)
for command in models.COMMANDS:
    money.model.add_command(command)
main.add_command(network.nodes)
main.add_command(gov.gov)
main.add_command(validator.validator)
main.add_command(validator.challenges)
main.add_command(web.web)


if __name__ == "__main__":
    main()

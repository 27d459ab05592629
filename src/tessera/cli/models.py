"""`tessera model publish|fetch|import|list|show|trace`: adapters with provenance, and model
folders by CID over the network's /ipfs gateways. Parses and renders only; the facade does the
work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

import tessera
from tessera.cli import model_view
from tessera.cli.common import friendly, open_home
from tessera.cli.render import console


@click.command("publish")
@click.argument("name", required=False)
@click.option(
    "--path",
    "folder",
    type=click.Path(path_type=Path),
    help="Publish a whole model folder instead (default: Gemma 3 270M from its pip package).",
)
@click.option("--id", "model_id", default="gemma-3-270m", show_default=True, help="Its model id.")
@click.option("--as", "account", help="The builder's account (default: default).")
@click.pass_context
@friendly
def model_publish(
    ctx: click.Context, name: str | None, folder: Path | None, model_id: str, account: str | None
) -> None:
    """Publish adapter NAME (trained or imported in this home) with its provenance: its files
    by CID, and on chain who built it from what. Without NAME, put a whole model folder's
    files and manifest in the store, which its node serves, and print the manifest's CID."""
    t = open_home(ctx, password=name is not None)
    if name is not None:
        record = t.factory.publish(t.signer(account), name)
        console.print(f"model {name} version {record.version} published")
        model_view.record(record)
        return
    manifest = t.publish_model(folder, model_id)
    console.print(f"model {manifest.model_id} published: manifest {manifest.cid}")
    console.print(f"weights digest {manifest.weights_digest}")
    for f in manifest.files:
        console.print(f"  {f.name}  {f.size} bytes  {f.cid}")
    console.print(
        f"another home fetches it with `tessera model fetch {manifest.cid}`", soft_wrap=True
    )


@click.command("train")
@click.argument("name")
@click.option("--datanet", "datanets", multiple=True, required=True, help="A datanet to train on.")
@click.option(
    "--base", type=click.Path(path_type=Path), help="Base model folder (default: Gemma 3 270M)."
)
@click.option("--block", type=int, help="Snapshot the datanets at this block (default: now).")
@click.option("--rank", type=int, help="LoRA rank (default: the trainer's).")
@click.option("--epochs", type=int, help="Passes over the data.")
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--seed", type=int, help="Seed: the same seed and data give the same adapter.")
@click.option(
    "--augmentation", type=click.Choice(["none", "sentences", "questions"]),
    help="How documents become training text (default: questions the base model asks).",
)  # fmt: skip
@click.option("--checkpoint-every", type=int, help="Steps between checkpoints.")
@click.option("--as", "account", help="The builder's account (default: default).")
@click.pass_context
@friendly
def model_train(ctx: click.Context, name: str, datanets: tuple[str, ...], base: Path | None,
                block: int | None, account: str | None, **chosen: Any) -> None:  # fmt: skip
    """Fine-tune LoRA adapter NAME on a snapshot of the datanets (content policy applied);
    a run that is stopped or killed resumes from its last checkpoint when started again."""
    settings = tessera.TrainSettings(**{k: v for k, v in chosen.items() if v is not None})
    t = open_home(ctx)
    with model_view.training_bar(name) as progress:
        trained = t.train_model(name, list(datanets), settings, base, block, account, progress)
    model_view.trained(trained)


@click.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="The model id to publish it under.")
@click.option(
    "--datanet", "datanets", multiple=True, help="A datanet it was trained on (declared)."
)
@click.option("--base", type=click.Path(path_type=Path), help="Its base model folder.")
@click.option("--as", "account", help="The builder's account (default: default).")
@click.pass_context
@friendly
def model_import(
    ctx: click.Context,
    folder: Path,
    name: str,
    datanets: tuple[str, ...],
    base: Path | None,
    account: str | None,
) -> None:
    """Bring in a PEFT adapter trained elsewhere; its data is declared, not proven."""
    into = open_home(ctx).import_adapter(folder, name, list(datanets), base, account)
    console.print(f"adapter {name} imported into {into} (training data declared, not proven)")
    console.print(f"publish it with `tessera model publish {name}`")


@click.command("list")
@click.pass_context
@friendly
def model_list(ctx: click.Context) -> None:
    """Every model published on this chain, with its latest version."""
    t = open_home(ctx)
    models = t.factory.models
    latest = [r for r in map(models.latest, models.model_ids()) if r is not None]
    if not latest:
        console.print("no model is published yet: `tessera model train NAME --datanet D`")
        return
    model_view.listing(latest)


@click.command("show")
@click.argument("name")
@click.pass_context
@friendly
def model_show(ctx: click.Context, name: str) -> None:
    """Every version of model NAME on chain: builder, digests, snapshot, data root."""
    model_view.versions(open_home(ctx).factory.versions(name))


@click.command("trace")
@click.argument("receipt", type=click.Path(path_type=Path), required=False)
@click.option("--model", "name", help="Trace a model version instead of a receipt.")
@click.option("--version", type=int, help="Which version (default: the latest).")
@click.pass_context
@friendly
def model_trace(
    ctx: click.Context, receipt: Path | None, name: str | None, version: int | None
) -> None:
    """From an answer's RECEIPT (or a model version) to the version on chain, its files
    (hash-checked), its snapshot and every contribution it was trained on."""
    t = open_home(ctx)
    if (receipt is None) == (name is None):
        raise click.UsageError("give a RECEIPT file or --model NAME, one of them")
    if receipt is not None:
        trace = t.factory.trace_receipt(t.load_receipt(receipt))
    else:
        trace = t.factory.trace(str(name), version)
    model_view.trace(trace)
    if not trace.ok:
        sys.exit(1)


@click.command("fetch")
@click.argument("manifest_cid")
@click.option("--digest", help="The weights digest you expect (default: one governance approved).")
@click.option(
    "--allow-unapproved", is_flag=True, help="Fetch it even if governance has not approved it."
)
@click.pass_context
@friendly
def model_fetch(
    ctx: click.Context, manifest_cid: str, digest: str | None, allow_unapproved: bool
) -> None:
    """Fetch the model MANIFEST_CID names from the network, verify every file and its weights
    digest, and print the folder it is in."""
    folder = open_home(ctx).fetch_model(manifest_cid, digest, allow_unapproved)
    # soft wrap: a path or CID broken over two lines cannot be copied
    console.print(f"model {manifest_cid} verified in {folder}", soft_wrap=True)
    console.print(f"serve it with `tessera node start --model {folder}`", soft_wrap=True)


COMMANDS: list[click.Command] = [
    model_train,
    model_publish,
    model_fetch,
    model_import,
    model_list,
    model_show,
    model_trace,
]

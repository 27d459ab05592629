"""`tessera model publish|fetch`: model folders by CID over the network's /ipfs gateways.
Parses and renders only; the facade does the work."""

from __future__ import annotations

from pathlib import Path

import click

from tessera.cli.common import friendly, open_home
from tessera.cli.render import console


@click.command("publish")
@click.option(
    "--path",
    "folder",
    type=click.Path(path_type=Path),
    help="The model folder (default: Gemma 3 270M from its pip package).",
)
@click.option("--id", "model_id", default="gemma-3-270m", show_default=True, help="Model id.")
@click.pass_context
@friendly
def model_publish(ctx: click.Context, folder: Path | None, model_id: str) -> None:
    """Put a model folder's files and manifest into this home's store, which its node serves;
    print the manifest's CID, which anyone fetches the model by."""
    manifest = open_home(ctx).publish_model(folder, model_id)
    console.print(f"model {manifest.model_id} published: manifest {manifest.cid}")
    console.print(f"weights digest {manifest.weights_digest}")
    for f in manifest.files:
        console.print(f"  {f.name}  {f.size} bytes  {f.cid}")
    console.print(
        f"another home fetches it with `tessera model fetch {manifest.cid}`", soft_wrap=True
    )


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


COMMANDS: list[click.Command] = [model_publish, model_fetch]

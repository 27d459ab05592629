"""`tessera web`: the web app on this home."""

from __future__ import annotations

import ipaddress
import os

import click

from tessera.cli.common import ask_password, friendly
from tessera.cli.render import console

DEFAULT_WEB_PORT = 8710


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_WEB_PORT, show_default=True)
@click.option("--node", help="The node `Ask` pays (a URL or address; default: the network picks).")
@click.option(
    "--relayer",
    metavar="NAME",
    help="An account of this home that relays browser wallets' signed delegations and pays "
    "their gas (its keystore password: TESSERA_PASSWORD, or asked for).",
)
@click.pass_context
@friendly
def web(ctx: click.Context, host: str, port: int, node: str | None, relayer: str | None) -> None:
    """Serve the web app: datanets, models, answers, nodes, proposals and your own account.
    Local accounts can be unlocked in the browser only when serving loopback; with
    --relayer, wallets delegate their votes by signature, without gas of their own."""
    import uvicorn

    from tessera.web import WebConfig, create_web_app

    loopback = _is_loopback(host)
    if not loopback:
        console.print(
            f"serving {host}, not loopback: local accounts cannot be unlocked here, only "
            "browser wallets sign"
        )
    password = (ask_password() or os.environ["TESSERA_PASSWORD"]) if relayer else None
    config = WebConfig(ctx.obj["home"], allow_unlock=loopback, node=node, relayer=relayer)
    app = create_web_app(config, password=password)
    if relayer:
        console.print(f"relaying wallets' signed delegations as {relayer}, which pays their gas")
    console.print(f"Tessera web on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

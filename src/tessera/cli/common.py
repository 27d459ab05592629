"""What every command shares: the password prompt, one-line errors, opening the home."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

import tessera


def ask_password(confirm: bool = False) -> str | None:
    if os.environ.get("TESSERA_PASSWORD"):
        return None  # the facade reads it
    if not sys.stdin.isatty():
        raise click.UsageError(
            "set TESSERA_PASSWORD (no terminal to ask for the keystore password)"
        )
    return str(click.prompt("Keystore password", hide_input=True, confirmation_prompt=confirm))


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TesseraError into one line on stderr and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except tessera.TesseraError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def open_home(ctx: click.Context, password: bool = False) -> tessera.Tessera:
    return tessera.Tessera.open(ctx.obj["home"], password=ask_password() if password else None)

"""Templates (autoescaped: on-chain text is shown, never run) and what every page shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import tessera
from tessera.web.sessions import Session

T = TypeVar("T")
TEMPLATES = Path(__file__).parent / "templates"


def _short(text: object, keep: int = 10) -> str:
    value = str(text)
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-6:]}"


def _when(timestamp: int | None) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _tsr(amount: int | None) -> str:
    return "—" if amount is None else f"{tessera.format_tsr(int(amount))} TSR"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a missing value is a bug in the page, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(short=_short, when=_when, tsr=_tsr, ppm=lambda v: f"{int(v) / 10_000:.2f}%")


def base(request: Request) -> str:
    """Where this app is mounted ("" for `tessera web`, "/app" inside a node)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = session_of(request)
    html = env.get_template(template).render(
        base=base(request),
        path=request.url.path,
        session=session,
        csrf=session.csrf,
        allow_unlock=request.app.state.config.allow_unlock,
        chain_id=request.app.state.chain_id,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, path: str) -> RedirectResponse:
    """After a form: see the result at its own URL (so a reload does not post again)."""
    return RedirectResponse(base(request) + path, status_code=303)


async def home(request: Request, fn: Callable[[tessera.Tessera], T]) -> T:
    """Run `fn` on the home's thread."""
    result: T = await request.app.state.worker.call(fn)
    return result


def no_store_json(body: Any, status: int = 200) -> JSONResponse:
    """A JSON answer no cache keeps: what it holds is good for the chain's state now only."""
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def json_answer(work: Callable[[], Awaitable[Any]]) -> JSONResponse:
    """`work`'s result as JSON, or its refusal as `{"error": "..."}` with its status."""
    try:
        return no_store_json(await work())
    except tessera.TesseraError as exc:
        return no_store_json({"error": str(exc)}, error_status(exc))


def error_status(exc: tessera.TesseraError) -> int:
    """The HTTP status of a refusal, for a page and a JSON answer alike."""
    if isinstance(exc, tessera.NotFoundError):
        return 404
    if isinstance(exc, tessera.AccountError | tessera.SignatureError):
        return 403
    if isinstance(exc, tessera.ChainUnavailable | tessera.NodeError):
        return 502
    return 400


def page_size(request: Request) -> int:
    size: int = request.app.state.config.page_size
    return size

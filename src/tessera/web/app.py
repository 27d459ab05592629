"""The FastAPI app behind `tessera web`: sessions, security headers, error pages, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

import tessera
from tessera.web import (
    account_routes,
    ask_routes,
    delegation_routes,
    explore_routes,
    govern_routes,
    model_routes,
    network_routes,
    wallet_routes,
)
from tessera.web.rendering import error_status, render
from tessera.web.sessions import (
    COOKIE,
    PREPARE_WINDOW_S,
    PREPARES_PER_APP,
    RELAY_WINDOW_S,
    RELAYS_PER_APP,
    RateLimit,
    Sessions,
)
from tessera.web.worker import HomeWorker

STATIC = Path(__file__).parent / "static"
MAX_FORM_BYTES = 64 * 1024  # every form here is a few fields; the question box is the largest
# no inline script or style, nothing from elsewhere: on-chain text can never run as code
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class WebConfig:
    home: Path | None = None
    allow_unlock: bool = True  # False unless served on loopback: see `tessera web --host`
    page_size: int = 25
    node: str | None = None  # the node `ask` pins (a URL or address); None: the network picks
    # the home's account that relays wallets' signed delegations and pays their gas (a
    # session's unlocked account relays that session's); None: only unlocked accounts relay
    relayer: str | None = None


def create_web_app(
    config: WebConfig,
    opener: Callable[[], tessera.Tessera] | None = None,
    password: str | None = None,
) -> FastAPI:
    """The web app on the home `config.home`, opened on the app's own thread (with the
    keystore `password` that `config.relayer` signs with; default: TESSERA_PASSWORD) and
    closed with the app; or on what `opener` returns, which its caller closes."""
    worker = HomeWorker(
        opener or (lambda: tessera.Tessera.open(config.home, password)), owned=not opener
    )
    if config.relayer is not None:
        _check_relayer(worker, config.relayer)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.close()

    app = FastAPI(
        title="Tessera", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.worker = worker
    app.state.config = config
    app.state.sessions = Sessions()
    app.state.prepares = RateLimit(PREPARES_PER_APP, PREPARE_WINDOW_S)  # wallet questions
    app.state.relays = RateLimit(RELAYS_PER_APP, RELAY_WINDOW_S)  # signed delegations
    app.state.chain_id = worker.tessera.chain.chain_id

    _guard(app)

    @app.exception_handler(tessera.TesseraError)
    async def refused(request: Request, exc: tessera.TesseraError) -> HTMLResponse:
        return render(request, "error.html", status=error_status(exc), message=str(exc))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        explore_routes,
        model_routes,
        govern_routes,
        network_routes,
        account_routes,
        ask_routes,
        delegation_routes,
        wallet_routes,
    ):
        app.include_router(module.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def _check_relayer(worker: HomeWorker, relayer: str) -> None:
    """A relayer that cannot sign (no such account, a missing or wrong password) fails now,
    not at the first delegation a wallet signs."""
    try:
        worker.tessera.signer(relayer)
    except tessera.TesseraError:
        worker.close()
        raise


def mount_web_app(parent: FastAPI, config: WebConfig, path: str = "/app") -> FastAPI:
    """The web app under `path` of another app (a node's): its pages link under `path`."""
    app = create_web_app(config)
    parent.mount(path, app)
    return app


def _guard(app: FastAPI) -> None:
    """Before every route: only GET and POST, a bounded body, a session; after: the headers
    that keep on-chain text from running and the page from being framed."""

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        if request.method not in ("GET", "HEAD", "POST"):
            return Response("method not allowed", status_code=405)
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
                return Response(
                    f"a form here is at most {MAX_FORM_BYTES} bytes, with a Content-Length",
                    status_code=413,
                )
        sessions: Sessions = app.state.sessions
        session = sessions.get(request.cookies.get(COOKIE))
        fresh = session is None
        request.state.session = session or sessions.new()
        response = await call_next(request)
        if fresh:
            response.set_cookie(
                COOKIE, request.state.session.id, httponly=True, samesite="strict", path="/"
            )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

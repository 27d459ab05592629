"""Real HTTP peers on loopback ports the OS picks: an honest gateway and scripted liars."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn
from fastapi import FastAPI, Request

from tessera._node.gateway_routes import gateway_routes
from tessera._store.base import BlobStore


class Gateway:
    """A store served by the node's gateway routes; `requests` counts what peers asked."""

    def __init__(self, store: BlobStore) -> None:
        self.requests: list[str] = []
        self.app = FastAPI()

        @self.app.middleware("http")
        async def count(request: Request, call_next):  # type: ignore[no-untyped-def]
            self.requests.append(f"{request.url.path}?{request.url.query}")
            return await call_next(request)

        self.app.include_router(gateway_routes(store))


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free one
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


Behaviour = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serve_script(behaviour: Behaviour) -> Iterator[str]:
    """A plain http.server peer whose every GET is answered by `behaviour(handler)`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up on us
                behaviour(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def down_peer() -> Iterator[str]:
    """A URL whose port is bound but never listens: connections are refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def reply(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)

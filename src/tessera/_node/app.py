"""The node's HTTP API: OpenAI-compatible routes over `NodeService`, errors as OpenAI errors.

The routes only translate (questions.py in, wire.py out); delivery.py takes each answer to
its client and settles its receipt's status.
"""

from __future__ import annotations

import time

from fastapi import FastAPI

from tessera._node import answer_routes, http_errors, info_routes
from tessera._node.gateway_routes import gateway_routes
from tessera._node.limits import BodyLimits
from tessera._node.service import NodeService


def create_app(service: NodeService) -> FastAPI:
    app = FastAPI(
        title="Tessera node",
        version="0.1.0",
        description="OpenAI-compatible answers with proof of attribution.",
    )
    app.state.service = service  # what dependencies.service_of hands every route
    app.add_middleware(
        BodyLimits,
        max_bytes=service.config.max_body_bytes,
        max_depth=service.config.max_json_depth,
        paths=("/v1/chat/completions", "/v1/completions"),
    )
    http_errors.install(app)
    app.include_router(info_routes.router)
    app.include_router(answer_routes.router)
    # content by CID, for peers; what governance blocked is not handed on
    app.include_router(gateway_routes(service.store, service.blocked_cids))
    app.state.started = time.time()
    return app

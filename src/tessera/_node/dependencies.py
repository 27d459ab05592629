"""What FastAPI hands each route: the service the app was made for (in the app's state)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from tessera._node.service import NodeService


def service_of(request: Request) -> NodeService:
    return cast(NodeService, request.app.state.service)


Service = Annotated[NodeService, Depends(service_of)]

"""The /relay endpoint: websocket for NIP-01, HTTP for the NIP-11 document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket

from minga.relay import info
from minga.relay.connection import Connection

if TYPE_CHECKING:
    from minga.node.runtime import Node


def routes(
    node: Node,
) -> tuple[Callable[[Request], Awaitable[Response]], Callable[[WebSocket], Awaitable[None]]]:
    async def relay_http(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=info.CORS)
        if "application/nostr+json" in request.headers.get("accept", ""):
            doc = info.document(node.config, node.outlet, node.node_pubkey)
            return JSONResponse(doc, headers=info.CORS, media_type="application/nostr+json")
        return PlainTextResponse(
            f"This is a Nostr relay. Connect a Nostr client to {node.config.relay_url}\n",
            headers=info.CORS,
        )

    async def relay_ws(websocket: WebSocket) -> None:
        await Connection(websocket, node).serve()

    return relay_http, relay_ws

"""The ASGI application: relay and blobs by path, everything else to Django."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from minga.config import Config

Scope = dict[str, Any]


def build(config: Config | None = None) -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minga.web.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.asgi import get_asgi_application
    from starlette.applications import Starlette
    from starlette.routing import Route, WebSocketRoute

    from minga.blobs import tus
    from minga.blobs.endpoints import BLOB_PATH, handlers
    from minga.node.runtime import Node
    from minga.node.static import StaticFiles
    from minga.publish.identity import site_folder
    from minga.publish.serve import PREFIX as SITE
    from minga.publish.serve import SiteFiles
    from minga.relay.endpoint import routes

    node = Node(config or settings.MINGA)
    relay_http, relay_ws = routes(node)
    blob = handlers(node)
    uploads = tus.handlers(node, node.media.finished)
    methods = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]
    protocol = Starlette(
        routes=[
            # Some clients (NDK) normalise relay URLs with a trailing slash.
            Route("/relay", relay_http, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/relay/", relay_http, methods=["GET", "HEAD", "OPTIONS"]),
            WebSocketRoute("/relay", relay_ws),
            WebSocketRoute("/relay/", relay_ws),
            Route("/upload", blob["upload"], methods=["PUT", "HEAD", "OPTIONS"]),
            Route("/list/{pubkey}", blob["list"], methods=["GET", "OPTIONS"]),
            Route("/tus/", uploads["collection"], methods=["POST", "OPTIONS"]),
            Route(
                "/tus/{upload_id}",
                uploads["resource"],
                methods=["HEAD", "PATCH", "DELETE", "OPTIONS"],
            ),
            Route("/{name:path}", blob["blob"], methods=methods),
        ],
        lifespan=node.lifespan,
    )
    web = get_asgi_application()
    static = StaticFiles(Path(settings.STATIC_ROOT))
    site = SiteFiles(site_folder(node.config))

    async def application(scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        path = scope.get("path", "")
        if kind == "http" and path.startswith("/static/"):
            await static(scope, receive, send)
        elif kind == "http" and (path.startswith(SITE) or path == SITE.rstrip("/")):
            await site(scope, receive, send)
        elif (
            kind != "http"
            or path in ("/relay", "/relay/", "/upload")
            or path.startswith(("/list/", "/tus/"))
            or BLOB_PATH.fullmatch(path)
        ):
            await protocol(scope, receive, send)
        else:
            await web(scope, receive, send)

    application.node = node  # type: ignore[attr-defined]
    return application

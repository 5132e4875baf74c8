"""Run the node with uvicorn: one process, one port."""

from __future__ import annotations

import uvicorn

from minga.config import Config
from minga.node.asgi import build


def run(config: Config) -> None:
    app = build(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            ws="websockets-sansio",
            # Frames up to 4x the limit are read and refused with a clear NOTICE;
            # larger ones close the connection (1009) before they fill memory.
            ws_max_size=config.max_message_bytes * 4,
            ws_ping_interval=30,
            ws_ping_timeout=60,
            lifespan="on",
            log_level=config.log_level.lower(),
            timeout_graceful_shutdown=5,
            server_header=False,
        )
    )
    server.run()

"""The node: one ASGI process joining the web app, the relay and the blob server."""

"""NIP-11 relay information document."""

from __future__ import annotations

from typing import Any

from minga import __version__
from minga.config import Config

SUPPORTED_NIPS = [1, 9, 11, 40, 42, 70, 77]
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
}


def document(config: Config, outlet: str | None, node: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": config.relay_name,
        "description": config.relay_description,
        "supported_nips": SUPPORTED_NIPS,
        "software": "https://github.com/minga-news/minga",
        "version": __version__,
        "limitation": {
            "max_message_length": config.max_message_bytes,
            "max_subscriptions": config.max_subscriptions,
            "max_limit": config.max_limit,
            "max_subid_length": config.max_subid_length,
            "max_event_tags": config.max_event_tags,
            "max_content_length": config.max_content_chars,
            "auth_required": False,
            "payment_required": False,
            "restricted_writes": not config.open_writes,
            "created_at_upper_limit": config.created_at_future_seconds,
            "default_limit": config.default_limit,
        },
    }
    if outlet:
        doc["pubkey"] = outlet
    if node:
        doc["self"] = node
    return doc

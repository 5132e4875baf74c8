from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def node(request: HttpRequest) -> dict[str, Any]:
    return {
        "relay_url": settings.MINGA.relay_url,
        "base_url": settings.MINGA.base_url,
        "relay_name": settings.MINGA.relay_name,
    }

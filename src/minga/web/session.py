"""Django sessions for the ASGI handlers (tus uploads, private blobs)."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user


def person_for_cookies(cookies: dict[str, str]) -> Any:
    """The active Person signed in with this session cookie, or None (blocking: ORM)."""
    key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key=key)
    user = get_user(SimpleNamespace(session=session))
    if not user.is_authenticated or not user.is_active:
        return None
    person = getattr(user, "person", None)
    return person if person is not None and person.active else None

"""Releasing embargoed events (and withdrawing them again).

Events of the embargoed kinds (setting ``embargo_kinds``: dispatches and media
records) are stored private: members and the desk see them, the public does
not. Publishing releases the dispatch's address (every version, and the
versions still to come: corrections) and the ids of its media records; a
retraction withdraws them again. The rows never change otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from minga.store.models import Release


def _embargo_kinds() -> list[int]:
    return sorted(settings.MINGA.embargo_kinds) or [-1]


def _set_private(keys: list[str], private: bool) -> None:
    if not keys:
        return
    kinds = _embargo_kinds()
    marks = ",".join(["%s"] * len(keys))
    kind_marks = ",".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE minga_event SET private = %s WHERE kind IN ({kind_marks})"
            f" AND (address IN ({marks}) OR id IN ({marks}))",
            [private, *kinds, *keys, *keys],
        )


def release(keys: Iterable[str]) -> None:
    """Make the events of these addresses or ids public, now and from now on."""
    keys = list(dict.fromkeys(keys))
    now = int(time.time())
    with transaction.atomic():
        for key in keys:
            Release.objects.get_or_create(key=key, defaults={"released_at": now})
        _set_private(keys, False)


def withdraw(keys: Iterable[str]) -> None:
    """Put released events back under embargo (a retraction)."""
    keys = list(dict.fromkeys(keys))
    with transaction.atomic():
        Release.objects.filter(key__in=keys).delete()
        _set_private(keys, True)


def is_released(key: str) -> bool:
    return Release.objects.filter(key=key).exists()

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


def _set_private(keys: list[str], private: bool, since: int = 0) -> None:
    if not keys:
        return
    kinds = _embargo_kinds()
    marks = ",".join(["%s"] * len(keys))
    kind_marks = ",".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE minga_event SET private = %s WHERE kind IN ({kind_marks})"
            f" AND (address IN ({marks}) OR id IN ({marks})) AND created_at >= %s",
            [private, *kinds, *keys, *keys, since],
        )


def release(keys: Iterable[str], since: int = 0) -> None:
    """Make the events of these addresses or ids public, now and from now on;
    versions of an address created before ``since`` stay private."""
    keys = list(dict.fromkeys(keys))
    now = int(time.time())
    with transaction.atomic():
        for key in keys:
            Release.objects.update_or_create(
                key=key, defaults={"released_at": now, "since": since if ":" in key else 0}
            )
        _set_private([k for k in keys if ":" in k], False, since)
        _set_private([k for k in keys if ":" not in k], False)


def withdraw(keys: Iterable[str]) -> None:
    """Put released events back under embargo (a retraction)."""
    keys = list(dict.fromkeys(keys))
    with transaction.atomic():
        Release.objects.filter(key__in=keys).delete()
        _set_private(keys, True)


def is_released(key: str) -> bool:
    return Release.objects.filter(key=key).exists()

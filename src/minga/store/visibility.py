"""Which stored events only authenticated members may read."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from minga.events.event import Event
from minga.events.kinds import FOLLOW_SET, ROSTER_D_TAG


@dataclass(frozen=True)
class Visibility:
    """``private_kinds`` are never public. ``embargo_kinds`` (dispatches, media
    records) are private until the outlet releases their address or id (see
    :mod:`minga.store.release`): a filed dispatch is not public before the desk
    publishes it."""

    private_kinds: frozenset[int]
    embargo_kinds: frozenset[int] = frozenset()

    @classmethod
    def from_settings(cls) -> Visibility:
        return cls(frozenset(settings.MINGA.private_kinds), frozenset(settings.MINGA.embargo_kinds))

    def is_private(self, event: Event) -> bool:
        # The roster names the reporters: never public, whatever its kind.
        return event.kind in self.private_kinds or (
            event.kind == FOLLOW_SET and event.d_tag == ROSTER_D_TAG
        )

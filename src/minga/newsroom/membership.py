"""Changing the roster: the node signs a new roster event with the outlet key."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.exceptions import Forbidden, NotFound
from minga.keys import custody
from minga.keys.models import Purpose
from minga.newsroom.models import Outlet
from minga.newsroom.roster import Roster, load_current
from minga.store.ingest import ingest


def outlet_pubkey() -> str:
    outlet = Outlet.current()
    if outlet is None:
        raise NotFound(_("this node has no outlet yet: run `minga init`"))
    return outlet.pubkey


def current() -> Roster:
    return load_current(outlet_pubkey())


def change(edit: Callable[[Roster], Roster]) -> Event:
    """Apply ``edit`` to the current roster, sign it with the outlet key, store it."""
    outlet = outlet_pubkey()
    try:
        key = custody.load_purpose(Purpose.OUTLET)
    except NotFound as exc:
        raise Forbidden(
            _("the outlet key is not kept on this node: sign the roster where the key is")
        ) from exc
    before = load_current(outlet)
    after = edit(before)
    event = Roster(outlet, after.members, after.revoked, before.event_id, before.created_at).sign(
        key
    )
    outcome = ingest([event])[0]
    if not outcome.ok:
        raise Forbidden(_("the roster was not stored: %(reason)s") % {"reason": outcome.message})
    return event


def add(pubkey: str, role: str) -> Event:
    return change(lambda r: r.with_member(pubkey, role))


def revoke(pubkey: str, at: int | None = None, reason: str = "") -> Event:
    when = int(time.time()) if at is None else at
    return change(lambda r: r.with_revocation(pubkey, when, reason))

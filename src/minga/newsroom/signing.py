"""Signing for people: with their custodial key, or checking what their own signer made."""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.events.signing import sign_event
from minga.events.validate import parse_event
from minga.exceptions import Forbidden, InvalidInput, MingaError
from minga.keys import custody
from minga.newsroom.models import Custody, Person


def sign_as(
    person: Person, kind: int, content: str, tags: list[list[str]], created_at: int | None = None
) -> Event:
    """Sign with the person's custodial key, or ask their remote signer (NIP-46)."""
    if person.custody == Custody.NIP46:
        from minga.newsroom.nip46 import RemoteSigner, parse_uri

        signer = RemoteSigner(parse_uri(person.bunker), custody.load(person.signer_client))
        created = int(time.time()) if created_at is None else created_at
        event = signer.sign_event(kind, content, tags, created)
        if event.pubkey != person.pubkey:
            raise Forbidden(_("this event is signed by another key than yours"))
        return event
    if person.custody != Custody.CUSTODIAL:
        raise Forbidden(_("your key is in your own signer: sign this there"))
    key = custody.load(person.pubkey)
    return sign_event(key, kind, content, tags, created_at)


def accept_signed(person: Person, obj: Any) -> Event:
    """An event the person's own signer (NIP-07) made: valid, and theirs."""
    try:
        event = parse_event(obj)
    except MingaError as exc:
        raise InvalidInput(
            _("the signed event is not valid: %(detail)s") % {"detail": exc.message}
        ) from exc
    if event.pubkey != person.pubkey:
        raise Forbidden(_("this event is signed by another key than yours"))
    return event

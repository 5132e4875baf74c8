"""What a reporter files, from the app's outbox: checked, tagged, signed, stored.

A dispatch becomes a NIP-23 long-form event (kind 30023) whose ``d`` tag is
the id the phone gave it, so sending it twice (a lost answer, a retry) makes
the very same event, and editing it later makes a new version of the same
dispatch. A quick note becomes a kind 1. Media are referenced by NIP-92
``imeta`` tags once the pipeline has made their clean copies.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.events.kinds import LONG_FORM, NOTE
from minga.exceptions import InvalidInput, TooLarge
from minga.media.models import Media, MediaStatus
from minga.newsroom.models import Custody, Person
from minga.newsroom.signing import accept_signed, sign_as
from minga.store.ingest import ingest

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_NOTE = 4_000
MAX_PLACE = 200
MAX_TAGS = 20
MAX_MEDIA = 20
MAX_AGE = 7 * 86400  # an item may sit in an outbox for a week
LANGUAGES = {"es", "en", "qu", "ay", "pt", "fr"}
_HASHTAG = re.compile(r"[^\W_][\w-]{0,59}", re.UNICODE)


@dataclass(frozen=True)
class Filed:
    event: Event
    key: str
    duplicate: bool


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text") % {"field": name})
    value = value.strip()
    if len(value) > limit:
        raise TooLarge(
            _("%(field)s is longer than %(limit)d characters") % {"field": name, "limit": limit}
        )
    return value


def _hashtags(data: dict[str, Any]) -> list[str]:
    raw = data.get("hashtags", [])
    if isinstance(raw, str):
        raw = re.split(r"[\s,]+", raw)
    if not isinstance(raw, list) or len(raw) > MAX_TAGS:
        raise InvalidInput(_("at most %(count)d hashtags") % {"count": MAX_TAGS})
    tags = []
    for item in raw:
        if not isinstance(item, str):
            raise InvalidInput(_("hashtags must be text"))
        word = item.strip().lstrip("#").lower()
        if not word:
            continue
        if not _HASHTAG.fullmatch(word):
            raise InvalidInput(
                _("#%(word)s is not a hashtag (letters, digits and - only)") % {"word": word[:20]}
            )
        tags.append(word)
    return list(dict.fromkeys(tags))


CLOCK_SLACK = 600  # phones' clocks run a little ahead


def summary_of(body: str) -> str:
    """The automatic summary of a body: its first 280 characters, one line."""
    return " ".join(body.split())[:280]


def _filed_at(data: dict[str, Any]) -> int:
    """When the reporter pressed send. Kept as given when plausible, so sending
    the same item again signs the very same event (same id: a duplicate)."""
    now = int(time.time())
    value = data.get("filed_at", now)
    if type(value) is not int:
        raise InvalidInput(_("filed_at must be a unix time in seconds"))
    return min(now + CLOCK_SLACK, max(value, now - MAX_AGE))


def _media_tags(person: Person, data: dict[str, Any]) -> list[list[str]]:
    ids = data.get("media", [])
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_MEDIA
        or not all(isinstance(i, str) for i in ids)
    ):
        raise InvalidInput(_("at most %(count)d files") % {"count": MAX_MEDIA})
    found = {m.id: m for m in Media.objects.filter(pk__in=ids, owner=person.pubkey)}
    tags = []
    for media_id in ids:
        media = found.get(media_id)
        if media is None:
            raise InvalidInput(_("one of the files is not yours or does not exist"))
        if media.status != MediaStatus.READY:
            raise InvalidInput(
                _("the file %(name)s is not ready yet") % {"name": media.filename or media_id}
            )
        tags.append(list(media.result["imeta"]))
    return tags


def build(person: Person, data: dict[str, Any]) -> tuple[int, str, list[list[str]], int]:
    """(kind, content, tags, created_at) of what the outbox sent."""
    kind_name = data.get("kind")
    client_id = data.get("client_id")
    if not isinstance(client_id, str):
        raise InvalidInput(_("client_id is required"))
    try:
        client_id = str(uuid.UUID(client_id))
    except ValueError as exc:
        raise InvalidInput(_("client_id must be a UUID")) from exc
    language = _text(data, "language", 8).lower()
    if language and language not in LANGUAGES:
        raise InvalidInput(
            _("language must be one of %(languages)s") % {"languages": ", ".join(sorted(LANGUAGES))}
        )
    place = _text(data, "place", MAX_PLACE)
    hashtags = _hashtags(data)
    media = _media_tags(person, data)
    created_at = _filed_at(data)
    tags: list[list[str]] = []
    if kind_name == "dispatch":
        kind = LONG_FORM
        title = _text(data, "title", MAX_TITLE)
        body = _text(data, "body", MAX_BODY)
        if not title:
            raise InvalidInput(_("a dispatch needs a title"))
        if not body:
            raise InvalidInput(_("a dispatch needs a text"))
        tags += [["d", client_id], ["title", title]]
        tags.append(["summary", summary_of(body)])
        content = body
    elif kind_name == "note":
        kind = NOTE
        content = _text(data, "body", MAX_NOTE)
        if not content and not media:
            raise InvalidInput(_("a note needs a text or a file"))
        tags.append(["client", "minga"])
    else:
        raise InvalidInput(_("kind must be 'dispatch' or 'note'"))
    if language:
        tags += [["L", "ISO-639-1"], ["l", language, "ISO-639-1"]]
    if place:
        tags.append(["location", place])
    tags += [["t", t] for t in hashtags]
    tags += media
    if kind == NOTE:
        urls = [part[4:] for tag in media for part in tag[1:] if part.startswith("url ")]
        content = "\n".join([content, *urls]).strip()
    return kind, content, tags, created_at


def file(person: Person, data: dict[str, Any]) -> Filed:
    """Sign (custodial) and store what the outbox sent; idempotent per client_id."""
    if not person.active:
        raise InvalidInput(_("this account is no longer active"))
    if person.custody == Custody.NIP07:
        signed = data.get("event")
        if not isinstance(signed, dict):
            raise InvalidInput(_("sign the item with your browser extension before sending"))
        event = accept_signed(person, signed)
        if event.kind not in (LONG_FORM, NOTE):
            raise InvalidInput(_("only dispatches and notes are filed here"))
    else:
        kind, content, tags, created_at = build(person, data)
        event = sign_as(person, kind, content, tags, created_at)
    outcome = ingest([event])[0]
    if not outcome.ok:
        raise InvalidInput(_("the node refused it: %(reason)s") % {"reason": outcome.message})
    return Filed(event, event.address or event.id, outcome.duplicate)

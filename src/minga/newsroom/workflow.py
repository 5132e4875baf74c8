"""The desk's workflow: filed → in review → approved → published, or sent back;
corrections, retractions, gapless numbering. Every step is signed where it is
public and written to the audit log.

A dispatch (kind 30023) is identified by its address, so every version the
reporter signs is the same story; a note (kind 1) by its id. Publishing makes
the outlet key sign a NIP-18 repost carrying the dispatch number and releases
the dispatch (and its media records) from the embargo; a retraction is the
outlet's NIP-09 deletion of that repost, with the public note as its content,
and puts the dispatch back under embargo. Nothing is ever removed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.events.filters import Filter
from minga.events.kinds import DELETION, FILE_METADATA, GENERIC_REPOST, LONG_FORM, NOTE, REPOST
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from minga.keys import custody
from minga.keys.models import Purpose
from minga.newsroom import audit
from minga.newsroom.filing import summary_of
from minga.newsroom.models import Counter, Person, State, Story
from minga.newsroom.signals import story_changed
from minga.newsroom.signing import sign_as
from minga.store.ingest import ingest
from minga.store.query import get, latest, query
from minga.store.release import release, withdraw

FILED_KINDS = (LONG_FORM, NOTE)
NUMBER_TAG = "number"
CORRECTION_TAG = "correction"

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "review": ((State.FILED, State.RETURNED), State.REVIEW),
    "approve": ((State.FILED, State.REVIEW), State.APPROVED),
    "return": ((State.FILED, State.REVIEW, State.APPROVED), State.RETURNED),
    "publish": ((State.FILED, State.REVIEW, State.APPROVED), State.PUBLISHED),
    "retract": ((State.PUBLISHED,), State.RETRACTED),
}


def story_key(event: Event) -> str:
    return event.address or event.id


def current_event(key: str) -> Event | None:
    """The version the desk works on: the latest one of an address, or the note."""
    return latest(key) if ":" in key else get(key)


def _story(key: str, lock: bool = False) -> Story:
    event = current_event(key)
    if event is None:
        raise NotFound(_("no such item (deleted, or never filed)"))
    if event.kind not in FILED_KINDS:
        raise InvalidInput(_("only dispatches and notes go through the desk"))
    try:
        with transaction.atomic():
            story, _created = Story.objects.get_or_create(
                key=key, defaults={"kind": event.kind, "author": event.pubkey}
            )
    except IntegrityError:
        story = Story.objects.get(key=key)
    if lock:
        story = Story.objects.select_for_update().get(pk=story.pk)
    return story


def _move(story: Story, action: str) -> None:
    sources, target = TRANSITIONS[action]
    if story.state not in sources:
        raise Conflict(
            _("cannot %(action)s an item that is %(state)s")
            % {"action": action, "state": State.label(story.state).lower()}
        )
    story.state = target


def _outlet_key() -> SecretKey:
    try:
        return custody.load_purpose(Purpose.OUTLET)
    except NotFound as exc:
        raise Forbidden(_("the outlet key is not kept on this node: publish where it is")) from exc


def _store(event: Event) -> None:
    outcome = ingest([event])[0]
    if not outcome.ok:
        raise Forbidden(
            _("the store refused the signed event: %(reason)s") % {"reason": outcome.message}
        )


def next_number(name: str = "dispatch") -> int:
    """The next number of a gapless counter; call inside the transaction that uses it."""
    try:
        with transaction.atomic():
            Counter.objects.get_or_create(name=name)
    except IntegrityError:
        pass  # created meanwhile by a concurrent publication
    counter = Counter.objects.select_for_update().get(name=name)
    number = int(counter.value)
    counter.value = number + 1
    counter.save(update_fields=["value"])
    return number


def media_ids(event: Event) -> list[str]:
    """Ids of the author's NIP-94 records for the files this event shows (imeta x)."""
    hashes = []
    for tag in event.tags:
        if tag[0] == "imeta":
            hashes += [part[2:] for part in tag[1:] if part.startswith("x ")]
    if not hashes:
        return []
    rows = query(
        [
            Filter(
                authors=frozenset([event.pubkey]),
                kinds=frozenset([FILE_METADATA]),
                tags={"x": frozenset(hashes)},
                limit=500,
            )
        ],
        private=True,
    )
    return [row.id for row in rows]


def _changed(key: str) -> None:
    """Tell live views (the desk) once the transaction holding the change commits."""
    transaction.on_commit(lambda: story_changed.send(sender=None, key=key))


def transition(key: str, action: str, actor: Any, note: str = "") -> Story:
    """review, approve or return (send back with a note)."""
    if action not in ("review", "approve", "return"):
        raise InvalidInput(_("unknown action %(action)s") % {"action": action})
    if action == "return" and not note.strip():
        raise InvalidInput(_("say what to fix when sending an item back"))
    with transaction.atomic():
        story = _story(key, lock=True)
        _move(story, action)
        story.note = note.strip() if action == "return" else story.note
        story.save()
        audit.record(actor, action, key, note=note.strip())
        _changed(key)
    return story


@dataclass(frozen=True)
class Publication:
    story: Story
    repost: Event
    number: int | None


def publish(key: str, actor: Any) -> Publication:
    """Number the dispatch, sign the outlet's repost, release it from the embargo."""
    outlet = _outlet_key()
    relay = settings.MINGA.relay_url
    with transaction.atomic():
        story = _story(key, lock=True)
        _move(story, "publish")
        event = current_event(key)
        assert event is not None
        number = next_number() if event.kind == LONG_FORM else None
        tags = [["e", event.id, relay], ["p", event.pubkey], ["k", str(event.kind)]]
        if event.address:
            tags.append(["a", event.address, relay])
        if number is not None:
            tags.append([NUMBER_TAG, str(number)])
        # NIP-70: a protected event is never embedded in someone else's repost.
        content = "" if event.is_protected else event.to_json()
        repost = sign_event(outlet, REPOST if event.kind == NOTE else GENERIC_REPOST, content, tags)
        _store(repost)
        # Earlier versions (drafts the desk edited) stay private.
        release([key, *media_ids(event)], since=event.created_at)
        story.number = number
        story.repost_id = repost.id
        story.note = ""
        story.save()
        audit.record(actor, "publish", key, number=number, version=event.id, repost=repost.id)
        _changed(key)
    return Publication(story, repost, number)


def retract(key: str, actor: Any, note: str) -> Event:
    """Withdraw a published item: the outlet deletes its repost; the note is public."""
    if not note.strip():
        raise InvalidInput(_("a retraction needs a public note saying why"))
    outlet = _outlet_key()
    with transaction.atomic():
        story = _story(key, lock=True)
        _move(story, "retract")
        event = current_event(key)
        kind = GENERIC_REPOST if story.kind != NOTE else REPOST
        tags = [["e", story.repost_id], ["k", str(kind)]]
        if story.number is not None:
            tags.append([NUMBER_TAG, str(story.number)])
        deletion = sign_event(outlet, DELETION, note.strip(), tags)
        _store(deletion)
        withdraw([key, *(media_ids(event) if event else [])])
        story.note = note.strip()
        story.save()
        audit.record(actor, "retract", key, note=note.strip(), deletion=deletion.id)
        _changed(key)
    return deletion


def revise(
    key: str,
    actor: Any,
    *,
    content: str | None = None,
    title: str | None = None,
    correction: str = "",
) -> Event:
    """A new version of a dispatch, signed with the author's custodial key.

    Before publication this is an edit; after it, a correction, and then the
    public ``correction`` note is required.
    """
    with transaction.atomic():
        story = _story(key, lock=True)
        event = current_event(key)
        assert event is not None
        if event.kind != LONG_FORM:
            raise InvalidInput(_("only dispatches have versions"))
        published = story.state == State.PUBLISHED
        if published and not correction.strip():
            raise InvalidInput(_("a published dispatch is corrected with a public note"))
        author = Person.objects.filter(pubkey=event.pubkey).first()
        if author is None:
            raise Forbidden(
                _("the author's key is not kept here: ask them to sign the new version")
            )
        tags = [t for t in event.tags if t[0] != CORRECTION_TAG]
        if content is not None:
            # An automatic summary follows the body: what the desk cut from the
            # body (a source's name) must not live on in the summary.
            summary = event.first_tag_value("summary")
            if summary is not None and summary == summary_of(event.content):
                tags = [t if t[0] != "summary" else ["summary", summary_of(content)] for t in tags]
        if title is not None:
            tags = [t for t in tags if t[0] != "title"] + [["title", title.strip()]]
        if correction.strip():
            tags.append([CORRECTION_TAG, correction.strip()])
        created = max(int(time.time()), event.created_at + 1)
        version = sign_as(
            author, LONG_FORM, event.content if content is None else content, tags, created
        )
        _store(version)
        if not published and story.state == State.RETURNED:
            story.state = State.FILED
            story.save()
        audit.record(
            actor,
            "correct" if published else "edit",
            key,
            previous=event.id,
            version=version.id,
            note=correction.strip(),
        )
        _changed(key)
    return version


def intake(events: list[Event], private: frozenset[str] = frozenset()) -> None:
    """Store listener: every dispatch or note arriving gets its story; a new version
    of a dispatch that was sent back is filed again."""
    keys = {story_key(e): e for e in events if e.kind in FILED_KINDS}
    if not keys:
        return
    existing = {s.key: s for s in Story.objects.filter(key__in=list(keys))}
    new = [
        Story(key=key, kind=e.kind, author=e.pubkey)
        for key, e in keys.items()
        if key not in existing
    ]
    if new:
        Story.objects.bulk_create(new, ignore_conflicts=True)
    refiled = [
        s.pk for k, s in existing.items() if s.state == State.RETURNED and keys[k].kind == LONG_FORM
    ]
    if refiled:
        Story.objects.filter(pk__in=refiled).update(state=State.FILED)


def states(keys: list[str]) -> dict[str, Story]:
    return {s.key: s for s in Story.objects.filter(key__in=keys)}

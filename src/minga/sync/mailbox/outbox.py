"""What the outlet posts to its outbox relays, and posting it with retries.

Only public, approved events go out in clear: every event the outlet signs
and stores public (reposts = publications, deletions = retractions, its
profile, its relay list), the events a publication names once released (the
dispatch, the note, their media records) and later released versions of them
(corrections). A private event never leaves in clear: whether an event is
private is read again from the store when it is sent, and a private one goes
only as NIP-59 gift wraps, one per collective key that should have it.

Each (relay, event) is one :class:`~minga.sync.models.RelayPost` job; a round
takes the due posts, opens one connection per relay and sends them all. The
relay's answer decides: ``OK true`` (or ``duplicate:``) is done; ``blocked:``,
``invalid:``, ``restricted:``, ``pow:`` fail for good; ``rate-limited:``, no
answer or no connection wait and try again, with backoff. Each relay's state
(last contact, last error, events out) is its :class:`~minga.sync.models.Link`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.db.models import Count, F, Q

from minga.events.event import Event
from minga.events.kinds import (
    FILE_METADATA,
    GENERIC_REPOST,
    GIFT_WRAP,
    REPOST,
    SEAL,
)
from minga.events.signing import SecretKey
from minga.exceptions import MingaError, PublishError, RetryLater
from minga.publish import jobs
from minga.publish.models import JobState
from minga.store.models import StoredEvent
from minga.store.query import Row
from minga.sync import linkstate
from minga.sync.mailbox import giftwrap
from minga.sync.mailbox.post import Answer, post
from minga.sync.models import Link, RelayPost, Role

log = logging.getLogger(__name__)
BATCH = 200  # posts per round; one connection per relay carries all of its share
FOR_GOOD = ("blocked:", "invalid:", "restricted:", "pow:", "auth-required:")
NEVER_FORWARDED = frozenset({SEAL, GIFT_WRAP})  # already sealed for someone


@dataclass(frozen=True)
class Keys:
    """Who this node signs as: the node key seals members' private events it
    forwards; the outlet key seals its own."""

    node: SecretKey | None
    outlet: SecretKey | None
    outlet_pubkey: str
    recipients: tuple[str, ...]  # collective keys private events are wrapped for


def select(
    events: Iterable[Event],
    private: frozenset[str],
    outlet: str,
    embargo_kinds: frozenset[int],
    wrap_private: bool,
) -> tuple[list[str], list[str]]:
    """Ids of the stored events (and of what publications name) that go out,
    and among them those just released: they may have gone out wrapped while
    private, and must now go out again in clear."""
    chosen: dict[str, None] = {}
    named_ids: set[str] = set()
    named_addresses: set[str] = set()
    for event in events:
        if event.id in private:
            if wrap_private and event.kind not in NEVER_FORWARDED:
                chosen[event.id] = None
            continue
        if event.pubkey == outlet:
            chosen[event.id] = None
            if event.kind in (REPOST, GENERIC_REPOST):
                named_ids.update(v for v in event.tag_values("e") if len(v) == 64)
                named_addresses.update(event.tag_values("a"))
        elif event.kind in embargo_kinds:
            chosen[event.id] = None  # stored public: a released version (a correction)
    released = _released(named_ids, named_addresses) if named_ids or named_addresses else []
    chosen.update(dict.fromkeys(released))
    return list(chosen), released


def _released(ids: set[str], addresses: set[str]) -> list[str]:
    """The public events a publication names, and the media records they show."""
    rows = list(
        StoredEvent.objects.filter(private=False, deleted=False)
        .filter(_named(ids, addresses))
        .values_list("event_id", "raw")
    )
    found = [event_id for event_id, _raw in rows]
    hashes: dict[str, set[str]] = defaultdict(set)
    for _id, raw in rows:
        event = Row(_id, 0, 0, raw).event()
        for tag in event.tags:
            if tag[0] == "imeta":
                hashes[event.pubkey].update(p[2:] for p in tag[1:] if p.startswith("x "))
    for author, xs in hashes.items():
        media = StoredEvent.objects.filter(
            pubkey=author,
            kind=FILE_METADATA,
            private=False,
            deleted=False,
            tag_rows__name="x",
            tag_rows__value__in=sorted(xs),
        ).values_list("event_id", flat=True)
        found += list(media)
    return found


def _named(ids: set[str], addresses: set[str]) -> Q:
    condition = Q(event_id__in=sorted(ids))
    if addresses:
        condition |= Q(address__in=sorted(addresses), current=True)
    return condition


def enqueue(event_ids: Sequence[str], relays: Sequence[str], renew: Sequence[str] = ()) -> int:
    """Record one post per relay per event. An existing post is left as it is,
    unless its event is in ``renew`` (sent again: it was private when sent)."""
    posts = [RelayPost(relay=r, event_id=e) for r in relays for e in event_ids]
    if not posts:
        return 0
    RelayPost.objects.bulk_create(posts, ignore_conflicts=True, batch_size=500)
    if renew:
        RelayPost.objects.filter(event_id__in=list(renew), relay__in=list(relays)).exclude(
            state__in=[JobState.PENDING, JobState.RUNNING]
        ).update(state=JobState.PENDING, next_attempt=0, attempts=0, last_error="")
    return len(posts)


def _payloads(
    posts: list[RelayPost], keys: Keys, max_bytes: int
) -> tuple[dict[int, list[Event]], dict[int, str]]:
    """What to send for each post: the event in clear, or its gift wraps.

    Returns ``(to_send, settled)``: events per post id, and the posts that end
    without sending (with the reason) because the event is gone, deleted, too
    large, or private with nobody to wrap it for.
    """
    rows = {
        r.event_id: r
        for r in StoredEvent.objects.filter(event_id__in=[p.event_id for p in posts]).only(
            "event_id", "raw", "private", "deleted", "pubkey"
        )
    }
    to_send: dict[int, list[Event]] = {}
    settled: dict[int, str] = {}
    for p in posts:
        row = rows.get(p.event_id)
        if row is None:
            settled[p.pk] = "the event is not in the store"
            continue
        if row.deleted:
            settled[p.pk] = "the event was deleted before it was sent"
            continue
        if len(row.raw.encode("utf-8")) > max_bytes:
            settled[p.pk] = f"the event is larger than mailbox_max_event_bytes ({max_bytes})"
            continue
        event = Row(row.event_id, 0, 0, row.raw).event()
        if not row.private:
            to_send[p.pk] = [event]
            continue
        sender = keys.outlet if event.pubkey == keys.outlet_pubkey and keys.outlet else keys.node
        if sender is None or not keys.recipients:
            settled[p.pk] = "private: no collective key to wrap it for"
            continue
        # Never in clear: one wrap per recipient, each with its own one-time key.
        to_send[p.pk] = [giftwrap.wrap(event, sender, r) for r in keys.recipients]
    return to_send, settled


def _outcome(answers: dict[str, Answer], sent: list[Event]) -> None:
    """Raise what the relay's answers to one post's events mean (nothing: done)."""
    for event in sent:
        answer = answers.get(event.id)
        if answer is None:
            raise RetryLater("the relay did not answer")
        if answer.ok:
            continue
        if answer.message.startswith("rate-limited:"):
            raise RetryLater(answer.message)
        if answer.message.startswith(FOR_GOOD):
            raise PublishError(answer.message)
        raise RetryLater(answer.message or "refused without a reason")


def _settle(
    error: MingaError | None, answers: dict[str, Answer], sent: list[Event], job: RelayPost
) -> None:
    if error is not None:
        raise error
    _outcome(answers, sent)


def _post_all(
    relay: str,
    events: list[Event],
    auth: list[SecretKey],
    stopping: threading.Event | None = None,
) -> tuple[dict[str, Answer], MingaError | None]:
    try:
        return post(relay, events, auth, stopping=stopping), None
    except RetryLater as exc:
        return {}, exc


def claim(relay: str, limit: int = BATCH, now: float | None = None) -> list[RelayPost]:
    """Take up to ``limit`` due posts for ``relay`` (as :func:`minga.publish.jobs.claim`)."""
    moment = int(time.time() if now is None else now)
    with transaction.atomic():
        due = RelayPost.objects.filter(
            relay=relay, state=JobState.PENDING, next_attempt__lte=moment
        ).order_by("next_attempt", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        posts = list(due[:limit])
        RelayPost.objects.filter(pk__in=[p.pk for p in posts]).update(state=JobState.RUNNING)
    for p in posts:
        p.state = JobState.RUNNING
    return posts


def due_in(relay: str) -> float | None:
    """Seconds until the next post to ``relay`` is due (0: now), None when none waits."""
    nxt = (
        RelayPost.objects.filter(relay=relay, state=JobState.PENDING)
        .order_by("next_attempt")
        .values_list("next_attempt", flat=True)
        .first()
    )
    return None if nxt is None else max(0.0, float(nxt) - time.time())


def send_round(
    relay: str,
    keys: Keys,
    max_bytes: int,
    now: float | None = None,
    stopping: threading.Event | None = None,
) -> int:
    """Send the due posts of one relay over one connection; return how many were handled.

    Each relay has a thread of its own (see :mod:`.service`): a slow or silent
    relay never holds the others back."""
    claimed = claim(relay, now=now)
    if not claimed:
        return 0
    to_send, settled = _payloads(claimed, keys, max_bytes)
    for p in claimed:
        if p.pk in settled:
            p.state = JobState.SUPERSEDED
            p.last_error = settled[p.pk]
            p.save(update_fields=["state", "last_error", "updated"])
    by_relay: dict[str, list[RelayPost]] = defaultdict(list)
    for p in claimed:
        if p.pk in to_send:
            by_relay[p.relay].append(p)
    auth = [k for k in (keys.node, keys.outlet) if k is not None]
    for relay_url, posts in by_relay.items():
        stamp = int(time.time())
        events = [e for p in posts for e in to_send[p.pk]]
        answers, error = _post_all(relay_url, events, auth, stopping)
        done = 0
        for p in posts:
            jobs.run(p, partial(_settle, error, answers, to_send[p.pk]))
            done += p.state == JobState.DONE
        _record(relay_url, stamp, answers, error, done, posts)
    return len(claimed)


OUTBOX_ROLE = str(Role.OUTBOX)  # the link's role, as stored


def _record(
    relay: str,
    stamp: int,
    answers: dict[str, Answer],
    error: MingaError | None,
    done: int,
    posts: list[RelayPost],
) -> None:
    """Update the relay's link: contact, counters, and its last error if any."""
    link = linkstate.get(OUTBOX_ROLE, relay)
    fields: dict[str, object] = {"last_attempt": stamp}
    if error is None:
        fields["last_contact"] = stamp
    failed = [p for p in posts if p.state != JobState.DONE]
    if error is not None or failed:
        message = error.message if error is not None else failed[0].last_error
        fields["last_error"] = message[:2000]
        fields["last_error_at"] = stamp
    Link.objects.filter(pk=link.pk).update(
        events_out=F("events_out") + done,
        pending_out=RelayPost.objects.filter(relay=relay, state=JobState.PENDING).count(),
        **fields,
    )
    if answers:
        log.debug("%s: %d of %d posts done", relay, done, len(posts))


def status() -> list[dict[str, object]]:
    """Per outbox relay: link state and pending/failed post counts (for the desk and CLI)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in RelayPost.objects.values("relay", "state").annotate(n=Count("pk")):
        counts[(row["relay"], row["state"])] = row["n"]
    result = []
    for link in Link.objects.filter(role__in=[Role.OUTBOX, Role.INBOX]).order_by("role", "url"):
        result.append(
            {
                "role": link.role,
                "url": link.url,
                "last_contact": link.last_contact,
                "last_error": link.last_error,
                "last_error_at": link.last_error_at,
                "events_out": link.events_out,
                "events_in": link.events_in,
                "pending": counts[(link.url, str(JobState.PENDING))],
                "failed": counts[(link.url, str(JobState.FAILED))],
            }
        )
    return result

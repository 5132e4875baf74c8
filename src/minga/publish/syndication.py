"""Syndication: every published item out once on each configured channel,
and its corrections and retraction followed up there.

:func:`schedule` turns what changed in the catalogue into
:class:`~minga.publish.models.Delivery` rows, each unique for (channel, item,
action, version), so an item is posted once ever per channel:

- a new publication: ``post`` (version ""). Corrections made before it went
  out are in the post already: they are recorded as superseded;
- a new correction: ``correct`` (version = the corrected version's event id);
  an older correction still waiting gives way to it;
- a retraction: ``retract`` (version = the deletion's id); a post still
  waiting is superseded instead of going out, and so are corrections.

:func:`run_due` runs due deliveries through :func:`minga.publish.jobs.run`
(retries with backoff, refusals kept for a person, uncertain sends never
repeated). A correction or retraction needs its post's remote id: it waits
until the post is done. :func:`recover`, after a restart, puts deliveries
left running back to pending where repeating them cannot post twice (the
channel is idempotent, or the action is an edit), else marks them uncertain.

A channel without its URL or credential is off: nothing is scheduled for it.
"""

from __future__ import annotations

import html as html_text
import logging
import re
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from minga.blobs.storage import BlobStore
from minga.exceptions import PublishError, RetryLater
from minga.newsroom.markdown import render
from minga.newsroom.models import Outlet
from minga.publish import jobs
from minga.publish.catalogue import Catalogue, Item
from minga.publish.channels.base import Attachment, Channel, Remote
from minga.publish.channels.bluesky import Bluesky
from minga.publish.channels.content import Edition, Picture, shorten
from minga.publish.channels.email import Email
from minga.publish.channels.mastodon import Mastodon
from minga.publish.channels.telegram import Telegram
from minga.publish.models import Action, Delivery, JobState

log = logging.getLogger(__name__)
FAMILY: tuple[type[Mastodon] | type[Telegram] | type[Bluesky] | type[Email], ...] = (
    Mastodon,
    Telegram,
    Bluesky,
    Email,
)
WAIT_FOR_POST = 60.0  # seconds a follow-up waits for its post, at least
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def channels() -> list[Channel]:
    """The channels whose URL and credential are set."""
    found: list[Channel] = []
    for kind in FAMILY:
        channel = kind.configured()
        if channel is not None:
            found.append(channel)
    return found


def site_url() -> str:
    return str(settings.MINGA.site_url or settings.MINGA.base_url + "/site").rstrip("/")


def plain(html: str) -> str:
    """Safe HTML (from :func:`minga.newsroom.markdown.render`) as plain paragraphs."""
    text = _BLOCK_END.sub("\n\n", html)
    text = html_text.unescape(_TAG.sub("", text))
    lines = "\n".join(line.strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip()


def _attachments(item: Item) -> tuple[Attachment, ...]:
    blobs = BlobStore(settings.MINGA.data_path / "blobs")
    found: list[Attachment] = []
    for media in item.media:
        main = blobs.path(media.main.sha256)
        if not main.is_file():
            continue  # a node that lacks the file (a mirror) posts without it
        size = main.stat().st_size
        if media.family != "image":
            found.append(Attachment(main, media.main.mime, media.alt, media.main.sha256, size))
            continue
        variants = tuple(
            Attachment(p, v.mime, media.alt, v.sha256, p.stat().st_size)
            for v, p in ((v, blobs.path(v.sha256)) for v in media.variants)
            if p.is_file() and v.mime.startswith("image/")
        )
        found.append(
            Picture(
                main,
                media.main.mime,
                media.alt,
                media.main.sha256,
                size,
                media.main.width,
                media.main.height,
                variants,
            )
        )
    return tuple(found)


def post_for(item: Item, catalogue: Catalogue) -> Edition:
    """What the channels are given for ``item``: texts, link, photos on disk."""
    body_html = render(item.body) if item.body else ""
    text = plain(body_html)
    summary = plain(render(item.summary)) if item.summary else ""
    summary = summary or shorten(text.split("\n\n", 1)[0], 280)
    corrections = item.corrections
    languages = {i.language for i in catalogue.translations(item)} | {item.language}
    return Edition(
        key=item.key,
        number=item.number,
        title=item.title,
        summary=summary if item.is_dispatch else "",
        text=text,
        html=body_html,
        url=f"{site_url()}/{item.slug}",
        language=item.language,
        hashtags=item.hashtags,
        attachments=_attachments(item),
        outlet=catalogue.name,
        correction=corrections[-1].correction if corrections else "",
        retraction=item.retraction.note if item.retraction else "",
        languages=tuple(sorted(x for x in languages if x)),
    )


# -- recording what is to be done ------------------------------------------------


def schedule(catalogue: Catalogue, keys: Iterable[str]) -> list[Delivery]:
    """Record the deliveries the change of these items calls for; returns the new ones."""
    names = [c.name for c in channels()]
    made: list[Delivery] = []
    for key in sorted(set(keys)):
        item = catalogue.items.get(key)
        if item is None:
            continue
        for name in names:
            with transaction.atomic():
                made += _schedule(name, item)
    return made


def _supersede(name: str, key: str, action: str, why: str, keep: str = "") -> None:
    Delivery.objects.filter(
        channel=name, item_key=key, action=action, state=JobState.PENDING
    ).exclude(version=keep).update(state=JobState.SUPERSEDED, last_error=why)


def _schedule(name: str, item: Item) -> list[Delivery]:
    post = Delivery.objects.filter(
        channel=name, item_key=item.key, action=Action.POST, version=""
    ).first()
    if item.retraction is not None:
        _supersede(name, item.key, str(Action.CORRECT), "the item was retracted")
        if post is None or post.state == JobState.SUPERSEDED:
            return []
        if post.state == JobState.PENDING:
            _withdraw(post)
            return []
        retract, created = Delivery.objects.get_or_create(
            channel=name,
            item_key=item.key,
            action=Action.RETRACT,
            version=item.retraction.deletion_id,
        )
        return [retract] if created else []
    if post is None:
        post, created = Delivery.objects.get_or_create(
            channel=name, item_key=item.key, action=Action.POST, version=""
        )
        for version in item.corrections:  # already in what the post says
            Delivery.objects.get_or_create(
                channel=name,
                item_key=item.key,
                action=Action.CORRECT,
                version=version.id,
                defaults={"state": JobState.SUPERSEDED, "last_error": "in the post already"},
            )
        return [post] if created else []
    if not item.corrections:
        return []
    newest = item.corrections[-1]
    correct, created = Delivery.objects.get_or_create(
        channel=name, item_key=item.key, action=Action.CORRECT, version=newest.id
    )
    if not created:
        return []
    _supersede(name, item.key, str(Action.CORRECT), "a newer correction", keep=newest.id)
    return [correct]


def _withdraw(job: Delivery) -> None:
    """A post or correction of an item retracted before it went out: moot, unless
    an earlier try may have reached the channel (then a person checks)."""
    if job.attempts and job.action == Action.POST:
        job.state = JobState.UNCERTAIN
        job.last_error = (
            "retracted while being retried: an earlier try may have gone out;"
            " check the channel and remove it by hand"
        )
    else:
        job.state, job.last_error = JobState.SUPERSEDED, "the item was retracted"
    job.save(update_fields=["state", "last_error", "updated"])


# -- doing it -------------------------------------------------------------------


def _catalogue() -> Catalogue:
    outlet = Outlet.current()
    if outlet is None:
        raise PublishError("this node has no outlet: nothing to syndicate")
    return Catalogue.load(outlet.pubkey, outlet.name)


def run_due(
    limit: int = 10, catalogue: Catalogue | None = None, now: float | None = None
) -> list[Delivery]:
    """Run up to ``limit`` due deliveries; returns them with their outcome."""
    claimed = jobs.claim(Delivery, limit, now)
    if not claimed:
        return []
    by_name = {c.name: c for c in channels()}
    if catalogue is None:
        catalogue = _catalogue()
    ran = []
    for job in claimed:
        item = catalogue.items.get(job.item_key)
        if item is not None and item.retraction is not None and job.action != Action.RETRACT:
            _withdraw(job)
            continue
        ran.append(jobs.run(job, lambda j: _deliver(j, by_name, catalogue)))
    return ran


def _deliver(job: Delivery, by_name: dict[str, Channel], catalogue: Catalogue) -> None:
    channel = by_name.get(job.channel)
    if channel is None:
        raise PublishError(f"the channel {job.channel} is not configured any more")
    item = catalogue.items.get(job.item_key)
    if item is None:
        raise PublishError("the item is not public on this node")
    post = post_for(item, catalogue)
    if job.action == Action.POST:
        remote = channel.post(post)
        job.remote_id, job.remote_url = remote.id, remote.url
        log.info("%s: posted %s as %s", channel.name, item.label, remote.url or remote.id)
        return
    first = _posted(job)
    if job.action == Action.CORRECT:
        remote = channel.correct(post, first)
        job.remote_id, job.remote_url = remote.id, remote.url
    else:
        channel.retract(post, first)
        job.remote_id, job.remote_url = first.id, first.url


def _posted(job: Delivery) -> Remote:
    """The remote of the post a follow-up follows; waits while it is under way."""
    post = Delivery.objects.filter(
        channel=job.channel, item_key=job.item_key, action=Action.POST, version=""
    ).first()
    if post is None or post.state == JobState.SUPERSEDED:
        raise PublishError("the item was never posted on this channel: nothing to follow up")
    if post.state == JobState.DONE and post.remote_id:
        return Remote(post.remote_id, post.remote_url)
    if post.state in (JobState.FAILED, JobState.UNCERTAIN):
        raise RetryLater(
            f"waiting for the post, which is {post.state}: a person must check it", WAIT_FOR_POST
        )
    raise RetryLater("waiting for the post to go out", WAIT_FOR_POST)


def recover() -> int:
    """After a restart: deliveries left running go back to pending when sending
    again cannot post twice, else to uncertain. Returns how many were found."""
    by_name = {c.name: c for c in channels()}

    def repeatable(job: Delivery) -> bool:
        channel = by_name.get(job.channel)
        if channel is None:
            return False
        return bool(channel.idempotent) or job.action == Action.CORRECT  # edits repeat safely

    return jobs.recover(Delivery, repeatable)


def settle(job: Delivery, remote_id: str, remote_url: str = "") -> None:
    """A person checked the channel and found an uncertain (or failed) post there:
    record it as done, with its id on the platform, so follow-ups can reach it."""
    if job.state not in (JobState.UNCERTAIN, JobState.FAILED):
        raise PublishError(f"only an uncertain or failed delivery can be settled, not {job.state}")
    if not remote_id.strip():
        raise PublishError("settling a delivery needs the post's id on the platform")
    job.state, job.last_error = JobState.DONE, ""
    job.remote_id, job.remote_url = remote_id.strip(), remote_url.strip()
    job.save(update_fields=["state", "last_error", "remote_id", "remote_url", "updated"])


def deliveries(item_key: str) -> list[Delivery]:
    """Every delivery of one item, for the desk: channel, action, state, link."""
    return list(Delivery.objects.filter(item_key=item_key).order_by("channel", "pk"))


def due_in(now: float | None = None) -> float | None:
    """Seconds until the next delivery is due (0: now), None when none waits."""
    return jobs.due_in(Delivery, now)

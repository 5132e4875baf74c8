"""Deploying the built site to every configured target, with status and retries.

:func:`schedule` records one :class:`~minga.publish.models.Deployment` per
target for a new version of the site (a signed manifest); only the newest
version matters, so older ones still waiting become superseded.
:func:`run_due` runs the deployments that are due through
:func:`minga.publish.jobs.run` (retries with backoff, failures kept for a
person), each target sending only what changed since its last successful
deployment. :func:`status` tells, per target, what is live and what is under
way.

The site folder always holds the newest build. A deployment whose version
the folder no longer holds gives way to the version it does hold; one the
folder does not hold yet waits. Deploying is repeatable (every target makes
the remote hold exactly the site), so a deployment interrupted by a crash is
simply run again (:func:`recover`). Two deployments to one target never run
at once, even from two processes (a lock file per target).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from minga.events.event import Event
from minga.exceptions import InvalidInput, PublishError, RetryLater
from minga.publish import jobs
from minga.publish.manifest import MANIFEST_PATH, aggregate, check_manifest, parse_manifest
from minga.publish.models import Deployment, JobState
from minga.publish.targets import configured, manifest_paths, target_for
from minga.store import query
from minga.store.ingest import ingest

BUSY_WAIT = 30.0  # seconds before trying a target another deployment holds
_MOOT = (JobState.PENDING, JobState.FAILED, JobState.UNCERTAIN)


def version(manifest: Event) -> str:
    return aggregate(manifest_paths(manifest))


def schedule(manifest: Event) -> list[Deployment]:
    """Deploy ``manifest``'s version to every configured target, superseding
    older deployments still waiting there. The manifest is stored if it was not."""
    try:
        check_manifest(manifest)
    except InvalidInput as exc:
        raise PublishError(f"not deploying an invalid manifest: {exc.message}") from exc
    _store(manifest)
    return [_schedule_on(target.url, manifest) for target in configured()]


def _store(manifest: Event) -> None:
    """Deployments name their manifest by id: it must be in the store."""
    if query.get(manifest.id) is None:
        outcome = ingest([manifest])[0]
        if not outcome.ok:
            raise PublishError(f"the manifest could not be stored: {outcome.message}")


def _schedule_on(target: str, manifest: Event) -> Deployment:
    agg = version(manifest)
    with transaction.atomic():
        Deployment.objects.filter(target=target, state__in=_MOOT).exclude(aggregate=agg).update(
            state=JobState.SUPERSEDED
        )
        job, created = Deployment.objects.select_for_update().get_or_create(
            target=target, aggregate=agg, defaults={"manifest_id": manifest.id}
        )
        if created or job.state == JobState.RUNNING:
            return job
        if job.state == JobState.DONE and job.pk == _live_pk(target):
            return job  # the target already holds this version
        # The same version again (after another one, or after a failure): send it anew.
        job.manifest_id = manifest.id
        job.state = JobState.PENDING
        job.attempts = 0
        job.next_attempt = 0
        job.last_error = ""
        job.files_sent = job.bytes_sent = job.files_deleted = 0
        job.save()
        return job


def _live_pk(target: str) -> int | None:
    live = _live(target)
    return live.pk if live else None


def _live(target: str) -> Deployment | None:
    """The target's last successful deployment: the version it holds."""
    return (
        Deployment.objects.filter(target=target, state=JobState.DONE)
        .order_by("-updated", "-pk")
        .first()
    )


def site_manifest(site: Path) -> Event | None:
    """The manifest the built site carries, or None when it carries none."""
    try:
        return parse_manifest((site / MANIFEST_PATH.lstrip("/")).read_bytes())
    except FileNotFoundError:
        return None
    except InvalidInput:
        return None


def run_due(site: Path, limit: int = 10, now: float | None = None) -> list[Deployment]:
    """Run up to ``limit`` due deployments of the site built in ``site``."""
    current = site_manifest(site)
    moment = int(time.time() if now is None else now)
    targets = {t.url for t in configured()}
    ran = []
    for job in jobs.claim(Deployment, limit, moment):
        if job.target not in targets:
            _set_aside(job, "the target is no longer in publish_targets")
            continue
        if current is not None and _outdated(job, current):
            _set_aside(job, f"the site moved on to version {version(current)[:12]}")
            _store(current)
            newer = _schedule_on(job.target, current)
            if not _claim_one(newer, moment):
                continue
            job = newer
        ran.append(jobs.run(job, lambda j: _deploy(j, site, current)))
    return ran


def _claim_one(job: Deployment, moment: int) -> bool:
    """Take ``job`` (pending and due) for this worker, as jobs.claim would."""
    taken = Deployment.objects.filter(
        pk=job.pk, state=JobState.PENDING, next_attempt__lte=moment
    ).update(state=JobState.RUNNING)
    if taken:
        job.state = JobState.RUNNING
    return bool(taken)


def _outdated(job: Deployment, current: Event) -> bool:
    if job.aggregate == version(current):
        return False
    mine = query.get(job.manifest_id)
    return mine is None or (mine.created_at, current.id) < (current.created_at, mine.id)


def _set_aside(job: Deployment, why: str) -> None:
    job.state = JobState.SUPERSEDED
    job.last_error = why
    job.save(update_fields=["state", "last_error", "updated"])


def _deploy(job: Deployment, site: Path, current: Event | None) -> None:
    # The copy of the manifest the site carries is the one deployed: the same
    # files may have been signed again since the deployment was recorded.
    if current is None or version(current) != job.aggregate:
        raise RetryLater("the site folder does not hold this version yet (still building?)")
    manifest = current
    job.manifest_id = current.id
    live = _live(job.target)
    previous = query.get(live.manifest_id) if live is not None else None
    target = target_for(job.target)
    with _exclusive(job.target):
        report = target.deploy(site, manifest, previous)
    job.files_sent = report.files_sent
    job.bytes_sent = report.bytes_sent
    job.files_deleted = report.files_deleted


@contextmanager
def _exclusive(target: str) -> Iterator[None]:
    folder = settings.MINGA.data_path / "publish" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(target.encode("utf-8")).hexdigest()[:24]
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetryLater("another deployment to this target is running", BUSY_WAIT) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def recover() -> int:
    """After a restart: deployments left running are run again (repeatable)."""
    return jobs.recover(Deployment, lambda job: True)


@dataclass(frozen=True)
class TargetStatus:
    target: str
    state: str  # of the newest deployment: pending, running, done, failed…
    version: str  # its aggregate hash
    when: datetime | None  # when its state last changed
    error: str
    attempts: int
    next_attempt: int  # unix time of the next try, when pending
    live_version: str  # what the target holds: the last done deployment ("" if none)
    live_since: datetime | None
    files_sent: int
    bytes_sent: int
    files_deleted: int


def status() -> list[TargetStatus]:
    """Per configured target: the newest deployment and the version live there."""
    out = []
    for target in configured():
        rows = Deployment.objects.filter(target=target.url).order_by("-updated", "-pk")
        under_way = rows.filter(state__in=(JobState.PENDING, JobState.RUNNING)).first()
        shown = under_way or rows.exclude(state=JobState.SUPERSEDED).first()
        live = _live(target.url)
        out.append(
            TargetStatus(
                target=target.url,
                state=shown.state if shown else "",
                version=shown.aggregate if shown else "",
                when=shown.updated if shown else None,
                error=shown.last_error if shown else "",
                attempts=shown.attempts if shown else 0,
                next_attempt=shown.next_attempt if shown else 0,
                live_version=live.aggregate if live else "",
                live_since=live.updated if live else None,
                files_sent=shown.files_sent if shown else 0,
                bytes_sent=shown.bytes_sent if shown else 0,
                files_deleted=shown.files_deleted if shown else 0,
            )
        )
    return out


def due_in(now: float | None = None) -> float | None:
    """Seconds until the next deployment is due (0: now), None when none waits."""
    return jobs.due_in(Deployment, now)

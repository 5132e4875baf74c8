"""Running recorded jobs (deployments, deliveries) with retries and backoff.

A job is claimed (``pending`` → ``running``) in a transaction, so two workers
never run the same one; its outcome is written when it ends:

- done: ``done``;
- :class:`~minga.exceptions.RetryLater`: back to ``pending``, due after a
  backoff that doubles per attempt up to ``retry_max_seconds`` (or the wait
  the remote asked for). A blackout may last days: passing failures are
  retried for as long as it takes;
- :class:`~minga.exceptions.Uncertain`: ``uncertain``, never retried alone;
- any other error: ``failed``, with the message, for a person to look at.

After a crash, jobs left ``running`` go back to ``pending`` when re-running
them cannot repeat an effect (``repeatable``), else to ``uncertain``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction

from minga.exceptions import MingaError, RetryLater, Uncertain
from minga.publish.models import Job, JobState

log = logging.getLogger(__name__)
J = TypeVar("J", bound=Job)
FIRST_WAIT = 15.0


def backoff(attempts: int, after: float | None = None, cap: float | None = None) -> float:
    """Seconds to wait before try number ``attempts + 1``."""
    limit = float(settings.MINGA.retry_max_seconds if cap is None else cap)
    wait = min(limit, FIRST_WAIT * 2 ** max(0, attempts - 1))
    wait *= random.uniform(0.8, 1.2)
    if after is not None:
        wait = max(wait, min(after, limit))
    return wait


def claim(model: type[J], limit: int = 10, now: float | None = None) -> list[J]:
    """Take up to ``limit`` due jobs, oldest first, marking them running."""
    moment = int(time.time() if now is None else now)
    with transaction.atomic():
        due = model.objects.filter(state=JobState.PENDING, next_attempt__lte=moment).order_by(
            "next_attempt", "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        jobs = list(due[:limit])
        model.objects.filter(pk__in=[j.pk for j in jobs]).update(state=JobState.RUNNING)
    for job in jobs:
        job.state = JobState.RUNNING
    return jobs


def run(job: J, work: Callable[[J], None]) -> J:
    """Do ``work(job)`` and record how it went (see the module docstring)."""
    job.attempts += 1
    try:
        work(job)
    except RetryLater as exc:
        job.state = JobState.PENDING
        job.next_attempt = int(time.time() + backoff(job.attempts, exc.after))
        job.last_error = exc.message[:2000]
        log.info("%s: will try again (%s)", job, exc.message)
    except Uncertain as exc:
        job.state = JobState.UNCERTAIN
        job.last_error = exc.message[:2000]
        log.warning("%s: outcome unknown, not sent again (%s)", job, exc.message)
    except MingaError as exc:
        job.state = JobState.FAILED
        job.last_error = exc.message[:2000]
        log.warning("%s: failed (%s)", job, exc.message)
    except Exception as exc:  # a defect: record it and keep the other jobs going
        job.state = JobState.FAILED
        job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        log.exception("%s: failed", job)
    else:
        job.state = JobState.DONE
        job.last_error = ""
    job.save()
    return job


def recover(model: type[J], repeatable: Callable[[J], bool]) -> int:
    """After a restart: jobs left running go back to pending when running them
    again is harmless, else to uncertain. Returns how many were found."""
    stuck = list(model.objects.filter(state=JobState.RUNNING))
    for job in stuck:
        if repeatable(job):
            job.state = JobState.PENDING
        else:
            job.state = JobState.UNCERTAIN
            job.last_error = "interrupted while sending: check the channel before sending again"
        job.save(update_fields=["state", "last_error", "updated"])
    return len(stuck)


def retry_now(job: Job) -> None:
    """A person asks to try a failed or uncertain job again."""
    job.state = JobState.PENDING
    job.next_attempt = 0
    job.save(update_fields=["state", "next_attempt", "updated"])


def due_in(model: type[Job], now: float | None = None) -> float | None:
    """Seconds until the next job of ``model`` is due (0: now), None when none waits."""
    nxt = (
        model.objects.filter(state=JobState.PENDING)
        .order_by("next_attempt")
        .values_list("next_attempt", flat=True)
        .first()
    )
    if nxt is None:
        return None
    return max(0.0, float(nxt) - (time.time() if now is None else now))

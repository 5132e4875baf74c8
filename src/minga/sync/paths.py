"""The desk's view of the paths out: per peer, relay, server and radio link,
the last contact, what is pending, what failed and why."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from minga.newsroom.views.access import desk_required
from minga.publish.models import JobState
from minga.sync.models import BlobFetch, Link, MeshPost, RelayPost, Role

PENDING, RUNNING, FAILED = str(JobState.PENDING), str(JobState.RUNNING), str(JobState.FAILED)
STALE_SECONDS = 15 * 60  # no contact for longer: the desk sees the path as silent


@dataclass
class PathRow:
    link: Link
    pending: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def contact_at(self) -> datetime | None:
        last = self.link.last_contact
        return datetime.fromtimestamp(last, UTC) if last else None

    @property
    def error_at(self) -> datetime | None:
        last = self.link.last_error_at
        return datetime.fromtimestamp(last, UTC) if last else None

    @property
    def silent(self) -> bool:
        last = self.link.last_contact
        return last is None or time.time() - last > STALE_SECONDS


def _jobs_by(model: type[RelayPost] | type[MeshPost], key: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = model.objects.values(key, "state").annotate(n=Count("pk"))
    for row in rows:
        counts.setdefault(row[key], {})[row["state"]] = row["n"]
    return counts


def rows() -> dict[str, list[PathRow]]:
    """Every known path, grouped by role, with its pending and failed work."""
    relay_jobs = _jobs_by(RelayPost, "relay")
    mesh_jobs = _jobs_by(MeshPost, "destination")
    grouped: dict[str, list[PathRow]] = {role: [] for role in Role.values}
    for link in Link.objects.order_by("role", "url"):
        row = PathRow(link)
        if link.role == Role.PEER:
            row.pending = link.pending_in + link.pending_out
        elif link.role == Role.OUTBOX:
            states = relay_jobs.get(link.url, {})
            row.pending = states.get(PENDING, 0) + states.get(RUNNING, 0)
            row.failed = states.get(FAILED, 0)
            row.errors = list(
                RelayPost.objects.filter(relay=link.url, state=JobState.FAILED)
                .exclude(last_error="")
                .order_by("-updated")
                .values_list("last_error", flat=True)[:3]
            )
        elif link.role == Role.MESH:
            states = mesh_jobs.get(link.url.removeprefix("lxmf://"), {})
            row.pending = states.get(PENDING, 0) + states.get(RUNNING, 0)
            row.failed = states.get(FAILED, 0)
        grouped.setdefault(link.role, []).append(row)
    return grouped


def blob_summary() -> dict[str, object]:
    waiting = BlobFetch.objects.filter(state__in=[JobState.PENDING, JobState.RUNNING])
    return {
        "waiting": waiting.count(),
        "failed": BlobFetch.objects.filter(state=JobState.FAILED).count(),
        "oldest": list(waiting.order_by("created")[:5]),
    }


@require_GET
@desk_required
def paths(request: HttpRequest) -> HttpResponse:
    template = "sync/_paths.html" if request.headers.get("HX-Request") else "sync/paths.html"
    context = {
        "groups": [(Role(role).label, items) for role, items in rows().items() if items],
        "blobs": blob_summary(),
        "now": int(time.time()),
    }
    return render(request, template, context)

"""The desk: a live timeline of everything arriving, and the workflow actions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from minga.events.event import Event
from minga.events.kinds import LONG_FORM
from minga.exceptions import Conflict, MingaError
from minga.newsroom import audit, diff, markdown, timeline, workflow
from minga.newsroom.models import DESK_ROLES, AuditEntry, State, Story
from minga.newsroom.views.access import desk_required, person_of
from minga.publish import jobs, syndication
from minga.publish.models import Delivery, JobState
from minga.store.query import versions

KEEPALIVE_SECONDS = 15


@require_GET
@desk_required
def desk(request: HttpRequest) -> HttpResponse:
    filters = timeline.Filters.from_query(request.GET)
    context = {
        "items": timeline.items(filters),
        "filters": filters,
        "reporters": timeline.reporters(),
        "states": State.choices,
        "stream_url": "/desk/stream" + (f"?{filters.as_query()}" if filters.as_query() else ""),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "timeline":
        return render(request, "newsroom/_timeline.html", context)
    return render(request, "newsroom/desk.html", context)


def _render_items(events: list[Event], filters: timeline.Filters) -> list[str]:
    shown = [i for i in timeline.to_items(events) if filters.keep(i)]
    return [render_to_string("newsroom/_item.html", {"item": item, "live": True}) for item in shown]


def _render_story(key: str) -> list[str]:
    event = workflow.current_event(key)
    if event is None:
        return []
    (item,) = timeline.to_items([event])
    return [render_to_string("newsroom/_item.html", {"item": item, "oob": True})]


def _sse(fragment: str, name: str = "item") -> str:
    data = "\n".join(f"data: {line}" for line in fragment.splitlines())
    return f"event: {name}\n{data}\n\n"


async def stream(request: HttpRequest) -> HttpResponseBase:
    """Server-sent events: new items and workflow changes, as HTML fragments."""
    from minga.node import runtime

    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    person = await sync_to_async(person_of)(request)
    if person is None or person.role not in DESK_ROLES:
        return HttpResponse(status=403)
    node = runtime.CURRENT
    if node is None:
        return HttpResponse(_("Live updates need the node (minga serve)."), status=503)
    filters = timeline.Filters.from_query(request.GET)
    queue = node.hub.watch()
    kinds = set(timeline.KINDS.values())

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    kind, payload = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                if kind == "story":
                    for fragment in await sync_to_async(_render_story)(payload):
                        yield _sse(fragment, "story")
                    continue
                wanted = [e for e in payload if e.kind in kinds and filters.matches_event(e)]
                if wanted:
                    for fragment in await sync_to_async(_render_items)(wanted, filters):
                        yield _sse(fragment)
        finally:
            node.hub.unwatch(queue)

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _story_or_404(pk: int) -> Story:
    story: Story = get_object_or_404(Story, pk=pk)
    return story


@require_GET
@desk_required
def story(request: HttpRequest, pk: int) -> HttpResponse:
    record = _story_or_404(pk)
    event = workflow.current_event(record.key)
    if event is None:
        raise Http404(_("This item is gone."))
    (item,) = timeline.to_items([event])
    history: list[dict[str, Any]] = []
    if event.kind == LONG_FORM:
        chain = versions(record.key)
        for newer, older in zip(chain, [*chain[1:], None], strict=True):
            history.append(
                {
                    "event": newer,
                    "when": datetime.fromtimestamp(newer.created_at, tz=UTC),
                    "title": newer.first_tag_value("title") or "",
                    "correction": newer.first_tag_value(workflow.CORRECTION_TAG) or "",
                    "diff": diff.words(older.content, newer.content) if older else "",
                    "title_diff": diff.words(
                        older.first_tag_value("title") or "", newer.first_tag_value("title") or ""
                    )
                    if older
                    else "",
                }
            )
    context = {
        "item": item,
        "story": record,
        "body": mark_safe(markdown.render(event.content)),  # noqa: S308 - sanitised by nh3
        "history": history,
        "audit": AuditEntry.objects.filter(target=record.key).select_related("actor")[:50],
        "actions": _actions(record),
        "deliveries": syndication.deliveries(record.key),
    }
    return render(request, "newsroom/story.html", context)


def _actions(record: Story) -> list[str]:
    allowed = [a for a, (sources, _) in workflow.TRANSITIONS.items() if record.state in sources]
    if record.kind == LONG_FORM and record.state != State.RETRACTED:
        allowed.append("revise")
    return allowed


@require_POST
@desk_required
def delivery(request: HttpRequest, pk: int, delivery_id: int, action: str) -> HttpResponse:
    """Try a failed or uncertain post again, or record one found on the channel."""
    record = _story_or_404(pk)
    job = get_object_or_404(Delivery, pk=delivery_id, item_key=record.key)
    try:
        if action == "retry":
            if job.state not in (JobState.FAILED, JobState.UNCERTAIN):
                raise Conflict(_("only a failed or uncertain post is tried again"))
            jobs.retry_now(job)
        elif action == "settle":
            syndication.settle(
                job,
                request.POST.get("remote_id", "")[:500],
                request.POST.get("remote_url", "")[:2000],
            )
        else:
            raise Http404
        audit.record(request.user, f"delivery-{action}", record.key, channel=job.channel)
    except MingaError as exc:
        messages.error(request, _(exc.message))
    return redirect("desk-story", pk=pk)


@require_POST
@desk_required
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    record = _story_or_404(pk)
    note = request.POST.get("note", "")[:2000]
    try:
        if action in ("review", "approve", "return"):
            workflow.transition(record.key, action, request.user, note)
        elif action == "publish":
            workflow.publish(record.key, request.user)
        elif action == "retract":
            workflow.retract(record.key, request.user, note)
        elif action == "revise":
            workflow.revise(
                record.key,
                request.user,
                content=request.POST.get("body", "")[:200_000] or None,
                title=request.POST.get("title") or None,
                correction=note,
            )
        else:
            raise Http404
    except MingaError as exc:
        messages.error(request, _(exc.message))
    return redirect("desk-story", pk=pk)

"""A Mastodon server's REST API, as much as syndication uses, on loopback.

Wire format from docs.joinmastodon.org (methods/media, methods/statuses,
entities/Status, entities/MediaAttachment): bearer tokens, form or JSON
bodies, ``media_ids[]``, ``Idempotency-Key`` on POST /api/v1/statuses (the
same key within an hour answers the status it made), 206 while a media file
is processed, errors as ``{"error": "…"}`` with 401/404/422, 429 with
``X-RateLimit-*`` headers. Checked against Mastodon.py in
``test_channel_mastodon.py``.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.publish.standins.server import Answer, Request, StandIn

URL = re.compile(r"https?://\S+")
LIMIT = 500
URL_WEIGHT = 23


def weight(text: str) -> int:
    """Mastodon's count: a URL weighs 23 characters whatever its length."""
    return len(URL.sub("x" * URL_WEIGHT, text))


def linked(text: str) -> str:
    escaped = html.escape(text, quote=False)
    return URL.sub(lambda m: '<a href="' + m[0] + '">' + m[0] + "</a>", escaped)


@dataclass
class Status:
    id: str
    text: str
    language: str | None
    media_ids: list[str]
    visibility: str
    created_at: str = "2026-09-21T10:00:00.000Z"
    edits: list[str] = field(default_factory=list)
    deleted: bool = False


class Mastodon(StandIn):
    def __init__(self, token: str = "token-de-prueba", processing_polls: int = 1) -> None:  # noqa: S107
        super().__init__()
        self.token = token
        self.processing_polls = processing_polls  # GETs answering 206 before a video is ready
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self._pending: dict[str, int] = {}
        self._keys: dict[str, str] = {}
        self._ids = itertools.count(110_000_000_000_000_001)

    # -- views of what was received ---------------------------------------
    def live(self) -> list[Status]:
        return [s for s in self.statuses.values() if not s.deleted]

    # -- entities -----------------------------------------------------------
    def _account(self) -> dict[str, Any]:
        return {
            "id": "1",
            "username": "prueba",
            "acct": "prueba",
            "display_name": "Prueba",
            "url": f"{self.url}/@prueba",
        }

    def _instance(self) -> dict[str, Any]:
        return {
            "uri": "127.0.0.1",
            "domain": "127.0.0.1",
            "title": "Stand-in",
            "version": "4.3.0",
            "api_versions": {"mastodon": 2},
            "configuration": {
                "statuses": {
                    "max_characters": LIMIT,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": URL_WEIGHT,
                },
                "media_attachments": {"description_limit": 1500},
            },
        }

    def _attachment(self, media_id: str) -> dict[str, Any]:
        media = dict(self.media[media_id])
        if self._pending.get(media_id, 0) > 0:
            media["url"] = None
        return media

    def _status(self, status: Status, with_source: bool = False) -> dict[str, Any]:
        paragraphs = "".join(f"<p>{linked(p)}</p>" for p in status.text.split("\n\n"))
        entity: dict[str, Any] = {
            "id": status.id,
            "uri": f"{self.url}/users/prueba/statuses/{status.id}",
            "url": f"{self.url}/@prueba/{status.id}",
            "created_at": status.created_at,
            "edited_at": "2026-09-21T11:00:00.000Z" if status.edits else None,
            "account": self._account(),
            "content": paragraphs,
            "visibility": status.visibility,
            "sensitive": False,
            "spoiler_text": "",
            "language": status.language,
            "media_attachments": [self._attachment(m) for m in status.media_ids],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "reblogs_count": 0,
            "favourites_count": 0,
            "replies_count": 0,
            "in_reply_to_id": None,
            "reblog": None,
            "poll": None,
            "card": None,
        }
        if with_source:
            entity["text"] = status.text
        return entity

    # -- requests -------------------------------------------------------------
    def handle(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"error": "The access token is invalid"})
        path, method = request.path.rstrip("/"), request.method  # Rails ignores a final /
        if path in {"/api/v1/instance", "/api/v2/instance"}:
            return Answer(200, self._instance())
        if path == "/api/v2/media" and method == "POST":
            return self._upload(request)
        if match := re.fullmatch(r"/api/v1/media/(\d+)", path):
            return self._media(match[1], request)
        if path == "/api/v1/statuses" and method == "POST":
            return self._post(request)
        if match := re.fullmatch(r"/api/v1/statuses/(\d+)", path):
            status = self.statuses.get(match[1])
            if status is None or status.deleted:
                return Answer(404, {"error": "Record not found"})
            if method == "GET":
                return Answer(200, self._status(status))
            if method == "PUT":
                return self._edit(status, request)
            if method == "DELETE":
                status.deleted = True
                return Answer(200, self._status(status, with_source=True))
        return Answer(404, {"error": "Record not found"})

    def _upload(self, request: Request) -> Answer:
        form = request.form()
        if "file" not in form or not isinstance(form["file"], tuple):
            return Answer(422, {"error": "Validation failed: File can't be blank"})
        _name, data, mime = form["file"]
        description = form.get("description", "")
        if len(description) > 1500:
            return Answer(422, {"error": "Validation failed: Description is too long"})
        media_id = str(next(self._ids))
        kind = mime.split("/")[0]
        self.files[media_id] = data
        self.media[media_id] = {
            "id": media_id,
            "type": kind if kind in {"image", "video", "audio"} else "unknown",
            "url": f"{self.url}/system/media_attachments/{media_id}/original",
            "preview_url": f"{self.url}/system/media_attachments/{media_id}/small",
            "remote_url": None,
            "text_url": None,
            "meta": {},
            "description": description or None,
            "blurhash": None,
        }
        if kind in {"video", "audio"}:  # processed later: 202, url null
            self._pending[media_id] = self.processing_polls
            return Answer(202, self._attachment(media_id))
        return Answer(200, self._attachment(media_id))

    def _media(self, media_id: str, request: Request) -> Answer:
        if media_id not in self.media:
            return Answer(404, {"error": "Record not found"})
        if request.method == "PUT":
            form = request.form()
            if "description" in form:
                self.media[media_id]["description"] = form["description"]
            return Answer(200, self._attachment(media_id))
        if self._pending.get(media_id, 0) > 0:
            self._pending[media_id] -= 1
            return Answer(206, self._attachment(media_id))
        return Answer(200, self._attachment(media_id))

    def _fields(self, request: Request) -> tuple[str, list[str], str | None, str]:
        form = request.form()
        media = form.get("media_ids[]", form.get("media_ids", []))
        return (
            str(form.get("status", "")),
            [str(m) for m in media],
            form.get("language") or None,
            str(form.get("visibility") or "public"),
        )

    def _check(self, text: str, media: list[str]) -> Answer | None:
        if not text.strip() and not media:
            return Answer(422, {"error": "Validation failed: Text can't be blank"})
        if weight(text) > LIMIT:
            return Answer(
                422, {"error": f"Validation failed: Text character limit of {LIMIT} exceeded"}
            )
        if len(media) > 4 or any(m not in self.media for m in media):
            return Answer(422, {"error": "Validation failed: Media attachments are invalid"})
        if any(self._pending.get(m, 0) > 0 for m in media):
            return Answer(422, {"error": "Cannot attach files that have not finished processing"})
        return None

    def _post(self, request: Request) -> Answer:
        key = request.headers.get("idempotency-key")
        if key and key in self._keys:
            return Answer(200, self._status(self.statuses[self._keys[key]]))
        text, media, language, visibility = self._fields(request)
        refused = self._check(text, media)
        if refused:
            return refused
        status = Status(str(next(self._ids)), text, language, media, visibility)
        self.statuses[status.id] = status
        if key:
            self._keys[key] = status.id
        return Answer(200, self._status(status))

    def _edit(self, status: Status, request: Request) -> Answer:
        text, media, language, _visibility = self._fields(request)
        refused = self._check(text, media)
        if refused:
            return refused
        status.edits.append(status.text)
        status.text = text
        status.media_ids = media  # an edit without media_ids removes the media
        status.language = language or status.language
        return Answer(200, self._status(status))

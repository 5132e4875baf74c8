"""Mastodon: a public status with the link, the hashtags and the photos.

REST API (docs.joinmastodon.org/methods): files go up with ``POST
/api/v2/media`` (the alt text as ``description``; video and audio answer 202
and are polled with ``GET /api/v1/media/:id`` until ready), the status with
``POST /api/v1/statuses`` carrying an ``Idempotency-Key`` made from the item,
so a retry after a lost answer gets the status already made instead of a
second one (Mastodon remembers a key for an hour; retries come sooner unless
the node was down longer). A correction edits the status (``PUT``, keeping
its media) with a correction line; a retraction deletes it and posts a public
note saying what was retracted and why.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings

from minga.exceptions import PublishError, RetryLater
from minga.keys.secrets import credential
from minga.publish.channels.base import Post, Remote
from minga.publish.channels.content import (
    compose,
    correction_line,
    fitting,
    retraction_text,
    standing_note,
    url_weighted,
)
from minga.publish.channels.http import Http, Reply

LIMIT = 500
URL_WEIGHT = 23
MAX_MEDIA = 4
FILE_LIMITS = {"image": 16 * 1024 * 1024, "video": 99 * 1024 * 1024, "audio": 99 * 1024 * 1024}
MAX_ALT = 1500


def _key(post: Post, action: str) -> str:
    return hashlib.sha256(f"minga\n{post.key}\n{action}".encode()).hexdigest()[:40]


def _status(reply: Reply, what: str) -> Remote:
    body = reply.json()
    status_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(status_id, str | int) or isinstance(status_id, bool) or not str(status_id):
        raise PublishError(f"mastodon: {what} answered without a status id: {reply.body[:200]!r}")
    url = body.get("url")
    return Remote(str(status_id), url if isinstance(url, str) else "")


class Mastodon:
    name = "mastodon"
    idempotent = True
    poll_seconds = 2.0
    poll_limit = 60  # polls of a processing video before trying again later

    def __init__(self, url: str, token: str, http: Http | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.http = http or Http(self.name)

    @classmethod
    def configured(cls) -> Mastodon | None:
        token = credential("mastodon_token", settings.MINGA.data_path)
        if not settings.MINGA.mastodon_url or not token:
            return None
        return cls(settings.MINGA.mastodon_url, token)

    # -- the channel ---------------------------------------------------------
    def post(self, post: Post) -> Remote:
        media = self._upload_all(post)
        reply = self._call(
            "POST",
            "/api/v1/statuses",
            json_body=self._body(post, media, standing_note(post)),
            headers={"Idempotency-Key": _key(post, "post")},
        )
        return _status(reply, "the post")

    def correct(self, post: Post, remote: Remote) -> Remote:
        current = self._call("GET", f"/api/v1/statuses/{remote.id}").json()
        attachments = current.get("media_attachments") if isinstance(current, dict) else None
        if not isinstance(attachments, list):
            raise PublishError(f"mastodon: status {remote.id} answered without its media list")
        media = [str(a["id"]) for a in attachments if isinstance(a, dict) and "id" in a]
        body = self._body(post, media, correction_line(post))
        return _status(
            self._call("PUT", f"/api/v1/statuses/{remote.id}", json_body=body), "the edit"
        )

    def retract(self, post: Post, remote: Remote) -> None:
        self._call("DELETE", f"/api/v1/statuses/{remote.id}", missing_ok=True)
        text = compose(post, LIMIT, url_weighted(URL_WEIGHT), extra=retraction_text(post))
        note = {"status": f"{text.extra}\n\n{post.url}", "visibility": "public"}
        if post.language:
            note["language"] = post.language
        self._call(
            "POST",
            "/api/v1/statuses",
            json_body=note,
            headers={"Idempotency-Key": _key(post, "retract")},
        )

    # -- parts -----------------------------------------------------------------
    def _body(self, post: Post, media: list[str], extra: str = "") -> dict[str, Any]:
        text = compose(post, LIMIT, url_weighted(URL_WEIGHT), extra=extra).joined()
        body: dict[str, Any] = {"status": text, "visibility": "public", "media_ids": media}
        if post.language:
            body["language"] = post.language
        return body

    def _upload_all(self, post: Post) -> list[str]:
        ids = []
        for attachment in post.attachments:
            family = attachment.mime.split("/", 1)[0]
            chosen = fitting(attachment, FILE_LIMITS.get(family, 0))
            if chosen is None:
                continue
            ids.append(self._upload(chosen.path.read_bytes(), chosen.mime, attachment.alt))
            if len(ids) == MAX_MEDIA:
                break
        return ids

    def _upload(self, data: bytes, mime: str, alt: str) -> str:
        # An upload whose answer is lost leaves an unattached file, which
        # Mastodon removes by itself: sending it again is harmless.
        reply = self._call(
            "POST",
            "/api/v2/media",
            files={"file": (f"media.{mime.split('/')[-1]}", data, mime)},
            data={"description": alt[:MAX_ALT]},
        )
        media = reply.json()
        if not isinstance(media, dict) or not isinstance(media.get("id"), str | int):
            raise PublishError(
                f"mastodon: the upload answered without a media id: {reply.body[:200]!r}"
            )
        media_id = str(media["id"])
        polls = 0
        while reply.status == 206 or media.get("url") is None:
            if polls == self.poll_limit:
                raise RetryLater(f"mastodon: media {media_id} is still being processed")
            time.sleep(self.poll_seconds)
            polls += 1
            reply = self._call("GET", f"/api/v1/media/{media_id}")
            media = reply.json()
            if not isinstance(media, dict):
                raise PublishError(f"mastodon: media {media_id} answered {reply.body[:200]!r}")
        return media_id

    def _call(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> Reply:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        reply = self.http.request(method, self.url + path, safe=True, headers=headers, **kwargs)
        if reply.ok or (missing_ok and reply.status == 404):
            return reply
        message = _error(reply)
        if reply.status == 401:
            raise PublishError(f"mastodon refused the token (mastodon_token): {message}")
        raise PublishError(f"mastodon: {method} {path}: HTTP {reply.status}: {message}")


def _error(reply: Reply) -> str:
    try:
        body = reply.json()
    except PublishError:
        return repr(reply.body[:200])
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:500]
    return repr(reply.body[:200])

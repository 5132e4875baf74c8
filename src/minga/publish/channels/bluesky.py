"""Bluesky: an ``app.bsky.feed.post`` record in the outlet's repository (AT Protocol).

XRPC against the account's PDS: ``com.atproto.server.createSession`` with the
handle and an app password (``refreshSession`` when the access token expires;
sessions are kept in memory, Bluesky limits how often one may log in),
``com.atproto.repo.uploadBlob`` for photos (the largest size under Bluesky's
1,000,000-byte limit), then ``com.atproto.repo.createRecord`` with text of at
most 300 graphemes, ``langs``, facets (link and hashtags, UTF-8 byte offsets)
and the photos with their alt text, or a link card.

Idempotent: the record key is a TID derived from the item, so before creating
a record the channel asks for that key, and a retry after a lost answer finds
the post already there. Posts cannot be edited: a correction is a reply with
the note; a retraction deletes the post and posts a note.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from minga.exceptions import PublishError, RetryLater
from minga.keys.secrets import credential
from minga.publish.channels.base import Post, Remote
from minga.publish.channels.content import (
    Parts,
    Picture,
    compose,
    correction_line,
    fitting,
    images,
    retraction_text,
    shorten,
    standing_note,
)
from minga.publish.channels.http import Http, Reply

POST = "app.bsky.feed.post"
GRAPHEMES = 300  # counted as code points after NFC: never more graphemes than that
BLOB_LIMIT = 1_000_000
MAX_IMAGES = 4
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_EPOCH = 1_672_531_200_000_000  # 2023-01-01 in microseconds
TID_SPAN = 1 << 45  # about 407 days: every derived TID lies in the past


def tid(*parts: str) -> str:
    """A record key in TID form, the same for the same ``parts``."""
    number = int.from_bytes(hashlib.sha256("\n".join(parts).encode()).digest()[:8], "big")
    micros = TID_EPOCH + number % TID_SPAN
    value = (micros << 10) | (number >> 54)
    return "".join(TID_ALPHABET[(value >> (60 - 5 * i)) & 31] for i in range(13))


def _wait(reply: Reply) -> float | None:
    """Bluesky's ``ratelimit-reset`` header: the epoch second the limit resets."""
    reset = reply.headers.get("ratelimit-reset", "")
    if reset.isdigit():
        return max(0.0, min(float(reset) - time.time(), 86400.0))
    return None


def facets(parts: Parts) -> tuple[str, list[dict[str, Any]]]:
    """The joined text, with a link facet on the URL and a tag facet on each hashtag."""
    text = ""
    found: list[dict[str, Any]] = []

    def add(piece: str, feature: dict[str, Any] | None) -> None:
        nonlocal text
        start = len(text.encode())
        text += piece
        if feature is not None:
            found.append(
                {
                    "index": {"byteStart": start, "byteEnd": len(text.encode())},
                    "features": [feature],
                }
            )

    pieces: list[tuple[str, dict[str, Any] | None]] = []
    if parts.head:
        pieces.append((parts.head, None))
    if parts.body:
        pieces.append((parts.body, None))
    pieces.append((parts.url, {"$type": "app.bsky.richtext.facet#link", "uri": parts.url}))
    for first, (piece, feature) in enumerate(pieces):
        if first:
            add("\n\n", None)
        add(piece, feature)
    for index, tag in enumerate(parts.tags):
        add("\n\n" if index == 0 else " ", None)
        add(f"#{tag}", {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
    if parts.extra:
        add("\n\n", None)
        add(parts.extra, None)
    return text, found


@dataclass
class Session:
    did: str
    handle: str
    access: str
    refresh: str


_sessions: dict[tuple[str, str], Session] = {}
_sessions_lock = threading.Lock()


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise PublishError(f"bluesky: the answer has no {name}")
    return value


class Bluesky:
    name = "bluesky"
    idempotent = True

    def __init__(self, service: str, handle: str, password: str, http: Http | None = None) -> None:
        self.service = service.rstrip("/")
        self.handle = handle.lstrip("@")
        self.password = password
        self.http = http or Http(self.name, hint=_wait)

    @classmethod
    def configured(cls) -> Bluesky | None:
        password = credential("bluesky_password", settings.MINGA.data_path)
        if not settings.MINGA.bluesky_handle or not password:
            return None
        return cls(settings.MINGA.bluesky_service, settings.MINGA.bluesky_handle, password)

    # -- the channel ---------------------------------------------------------
    def post(self, post: Post) -> Remote:
        rkey = tid(post.key, "post")
        found = self._existing(rkey)
        if found:
            return found
        text, spans = facets(compose(post, GRAPHEMES, extra=standing_note(post)))
        record = self._record(post, text, spans)
        record["embed"] = self._embed(post)
        return self._create(rkey, record)

    def correct(self, post: Post, remote: Remote) -> Remote:
        note = correction_line(post)
        rkey = tid(post.key, "correction", note)
        found = self._existing(rkey)
        if found:
            return found
        parent = self._get(self._rkey(remote))
        if parent is None:
            raise PublishError(
                f"bluesky: the post {remote.id} is gone: the correction has nothing to answer"
            )
        reference = {"uri": remote.id, "cid": _text(parent.get("cid"), "cid")}
        text, spans = facets(self._note(post, note))
        record = self._record(post, text, spans)
        record["reply"] = {"root": reference, "parent": reference}
        return self._create(rkey, record)

    def retract(self, post: Post, remote: Remote) -> None:
        session = self._session()
        self._xrpc(
            "com.atproto.repo.deleteRecord",
            json_body={"repo": session.did, "collection": POST, "rkey": self._rkey(remote)},
        )
        rkey = tid(post.key, "retraction")
        if self._existing(rkey) is None:
            text, spans = facets(self._note(post, retraction_text(post)))
            self._create(rkey, self._record(post, text, spans))

    # -- records ---------------------------------------------------------------
    def _note(self, post: Post, note: str) -> Parts:
        room = GRAPHEMES - len(post.url) - 2
        return Parts("", "", post.url, (), shorten(note, room))

    def _record(self, post: Post, text: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "facets": spans,
        }
        if post.language:
            record["langs"] = [post.language]
        return record

    def _embed(self, post: Post) -> dict[str, Any]:
        shown = []
        for attachment in images(post):
            chosen = fitting(attachment, BLOB_LIMIT)
            if chosen is None:
                continue
            blob = self._upload(chosen.path.read_bytes(), chosen.mime)
            image: dict[str, Any] = {"alt": attachment.alt[:2000], "image": blob}
            if isinstance(attachment, Picture) and attachment.width and attachment.height:
                image["aspectRatio"] = {"width": attachment.width, "height": attachment.height}
            shown.append(image)
            if len(shown) == MAX_IMAGES:
                break
        if shown:
            return {"$type": "app.bsky.embed.images", "images": shown}
        card = {"uri": post.url, "title": shorten(post.title or post.outlet, 300)}
        card["description"] = shorten(post.summary, 1000)
        return {"$type": "app.bsky.embed.external", "external": card}

    def _upload(self, data: bytes, mime: str) -> dict[str, Any]:
        reply = self._xrpc(
            "com.atproto.repo.uploadBlob", content=data, headers={"Content-Type": mime}
        )
        body = reply.json()
        blob = body.get("blob") if isinstance(body, dict) else None
        if not isinstance(blob, dict) or not isinstance(blob.get("ref"), dict):
            raise PublishError(f"bluesky: uploadBlob answered without a blob: {reply.body[:200]!r}")
        return blob

    def _create(self, rkey: str, record: dict[str, Any]) -> Remote:
        session = self._session()
        body = {"repo": session.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            reply = self._xrpc("com.atproto.repo.createRecord", json_body=body)
        except RetryLater:
            # A PDS answers 500 to a record key already taken: look before trying again.
            found = self._existing(rkey)
            if found:
                return found
            raise
        answer = reply.json()
        uri = _text(answer.get("uri") if isinstance(answer, dict) else None, "uri")
        return Remote(uri, self._link(rkey))

    def _existing(self, rkey: str) -> Remote | None:
        record = self._get(rkey)
        if record is None:
            return None
        return Remote(_text(record.get("uri"), "uri"), self._link(rkey))

    def _get(self, rkey: str) -> dict[str, Any] | None:
        session = self._session()
        params = {"repo": session.did, "collection": POST, "rkey": rkey}
        reply = self._xrpc("com.atproto.repo.getRecord", params=params, missing_ok=True)
        if reply.status == 400:
            return None
        body = reply.json()
        if not isinstance(body, dict):
            raise PublishError(f"bluesky: getRecord answered {reply.body[:200]!r}")
        return body

    def _rkey(self, remote: Remote) -> str:
        _did, _, rest = remote.id.removeprefix("at://").partition("/")
        collection, _, rkey = rest.partition("/")
        if collection != POST or not rkey:
            raise PublishError(f"bluesky: not a post of this channel: {remote.id!r}")
        return rkey

    def _link(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.handle}/post/{rkey}"

    # -- sessions and calls ------------------------------------------------------
    def _session(self, renew: bool = False) -> Session:
        key = (self.service, self.handle)
        with _sessions_lock:
            session = _sessions.get(key)
            if session is not None and not renew:
                return session
            if session is not None:
                session = self._refresh(session)
            if session is None:
                session = self._login()
            _sessions[key] = session
            return session

    def _login(self) -> Session:
        reply = self.http.request(
            "POST",
            f"{self.service}/xrpc/com.atproto.server.createSession",
            safe=True,
            json_body={"identifier": self.handle, "password": self.password},
        )
        if not reply.ok:
            raise PublishError(f"bluesky refused the login (bluesky_password): {_error(reply)}")
        return self._read_session(reply)

    def _refresh(self, session: Session) -> Session | None:
        reply = self.http.request(
            "POST",
            f"{self.service}/xrpc/com.atproto.server.refreshSession",
            safe=True,
            headers={"Authorization": f"Bearer {session.refresh}"},
        )
        return self._read_session(reply) if reply.ok else None

    def _read_session(self, reply: Reply) -> Session:
        body = reply.json()
        if not isinstance(body, dict):
            raise PublishError(
                f"bluesky: a session answer that is not an object: {reply.body[:200]!r}"
            )
        return Session(
            _text(body.get("did"), "did"),
            _text(body.get("handle"), "handle"),
            _text(body.get("accessJwt"), "accessJwt"),
            _text(body.get("refreshJwt"), "refreshJwt"),
        )

    def _xrpc(self, method: str, *, missing_ok: bool = False, **kwargs: Any) -> Reply:
        verb = "GET" if "params" in kwargs else "POST"
        headers = kwargs.pop("headers", {})
        for attempt in range(2):
            session = self._session(renew=attempt > 0)
            reply = self.http.request(
                verb,
                f"{self.service}/xrpc/{method}",
                safe=True,
                headers={**headers, "Authorization": f"Bearer {session.access}"},
                **kwargs,
            )
            if reply.ok:
                return reply
            error = _error_name(reply)
            if error in {"ExpiredToken", "InvalidToken"} and attempt == 0:
                continue
            if missing_ok and error == "RecordNotFound":
                return reply
            break
        raise PublishError(f"bluesky: {method}: HTTP {reply.status}: {_error(reply)}")


def _error_name(reply: Reply) -> str:
    try:
        body = reply.json()
    except PublishError:
        return ""
    name = body.get("error") if isinstance(body, dict) else None
    return name if isinstance(name, str) else ""


def _error(reply: Reply) -> str:
    try:
        body = reply.json()
    except PublishError:
        return repr(reply.body[:200])
    if isinstance(body, dict):
        return f"{body.get('error', '')}: {body.get('message', '')}"[:500]
    return repr(reply.body[:200])

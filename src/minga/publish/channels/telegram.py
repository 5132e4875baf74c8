"""Telegram: a message in the outlet's channel, by a bot that administers it.

Bot API (core.telegram.org/bots/api): ``sendPhoto`` (multipart, an HTML
caption of at most 1024 characters as Telegram counts them) when the item has
a photo, else ``sendMessage`` (at most 4096). A correction edits the caption
or the text; a retraction deletes the message (or, when Telegram no longer
lets a bot delete it, replaces its text) and sends a note.

Telegram has no idempotency key: a send whose answer was lost may have gone
out, so it is :class:`~minga.exceptions.Uncertain` and never sent again on
its own; a connection that never opened is tried again. Edits and deletes can
be repeated safely ("not modified" and "not found" are taken as done).
"""

from __future__ import annotations

import html
from typing import Any

from django.conf import settings

from minga.exceptions import PublishError, Uncertain
from minga.keys.secrets import credential
from minga.publish.channels.base import Post, Remote
from minga.publish.channels.content import (
    compose,
    correction_line,
    fitting,
    images,
    retraction_text,
    standing_note,
    utf16_length,
)
from minga.publish.channels.http import Http, Reply

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
PHOTO_LIMIT = 10 * 1024 * 1024
PHOTO, TEXT = "photo", "text"


def _wait(reply: Reply) -> float | None:
    """``parameters.retry_after`` of a 429 answer."""
    try:
        body = reply.json()
    except PublishError:
        return None
    parameters = body.get("parameters") if isinstance(body, dict) else None
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait < 86400:
        return float(wait)
    return None


def markup(post: Post, limit: int, *, whole: bool, extra: str = "") -> str:
    """The post as Telegram HTML whose visible text fits ``limit``."""
    parts = compose(post, limit, utf16_length, whole=whole, extra=extra)
    out = []
    if parts.head:
        out.append(f"<b>{html.escape(parts.head, quote=False)}</b>")
    if parts.body:
        out.append(html.escape(parts.body, quote=False))
    out.append(f'<a href="{html.escape(parts.url)}">{html.escape(parts.url, quote=False)}</a>')
    if parts.tags:
        out.append(html.escape(" ".join(f"#{t}" for t in parts.tags), quote=False))
    if parts.extra:
        out.append(f"<i>{html.escape(parts.extra, quote=False)}</i>")
    return "\n\n".join(out)


def _remote(remote: Remote) -> tuple[str, int]:
    kind, _, number = remote.id.partition(":")
    if kind not in {PHOTO, TEXT} or not number.isdigit():
        raise PublishError(f"telegram: not a message of this channel: {remote.id!r}")
    return kind, int(number)


class Telegram:
    name = "telegram"
    idempotent = False

    def __init__(self, api: str, token: str, chat: str, http: Http | None = None) -> None:
        self.api = api.rstrip("/")
        self.token = token
        self.chat = chat
        self.http = http or Http(self.name, hint=_wait)

    @classmethod
    def configured(cls) -> Telegram | None:
        token = credential("telegram_token", settings.MINGA.data_path)
        if not settings.MINGA.telegram_chat or not token:
            return None
        return cls(settings.MINGA.telegram_api, token, settings.MINGA.telegram_chat)

    # -- the channel ---------------------------------------------------------
    def post(self, post: Post) -> Remote:
        photo = next((p for p in (fitting(a, PHOTO_LIMIT) for a in images(post)) if p), None)
        if photo is not None:
            fields = {"chat_id": self.chat, "parse_mode": "HTML"}
            fields["caption"] = markup(post, CAPTION_LIMIT, whole=False, extra=standing_note(post))
            data = photo.path.read_bytes()
            files = {"photo": (photo.path.name, data, photo.mime)}
            message = self._send("sendPhoto", data=fields, files=files)
            kind = PHOTO
        else:
            message = self._send(
                "sendMessage", json_body=self._text(markup(post, TEXT_LIMIT, whole=True))
            )
            kind = TEXT
        return Remote(f"{kind}:{message}", self.link(message))

    def correct(self, post: Post, remote: Remote) -> Remote:
        kind, message = _remote(remote)
        extra = correction_line(post)
        self._edit(kind, message, post, extra)
        return remote

    def retract(self, post: Post, remote: Remote) -> None:
        kind, message = _remote(remote)
        body = {"chat_id": self.chat, "message_id": message}
        reply = self._call("deleteMessage", safe=True, json_body=body)
        if not reply.ok:
            description = self._refusal(reply)
            if "can't be deleted" in description:
                # Too old for a bot to delete: what stays is the retraction.
                self._edit(kind, message, post, "", retraction_text(post))
            elif "not found" not in description:
                raise PublishError(f"telegram: deleteMessage: {description}")
        note = retraction_text(post)
        text = f"{html.escape(note, quote=False)}\n\n{html.escape(post.url, quote=False)}"
        self._send("sendMessage", json_body=self._text(text))

    def link(self, message: int) -> str:
        if self.chat.startswith("@"):
            return f"https://t.me/{self.chat[1:]}/{message}"
        if self.chat.startswith("-100"):
            return f"https://t.me/c/{self.chat[4:]}/{message}"
        return ""

    # -- parts -----------------------------------------------------------------
    def _text(self, text: str) -> dict[str, Any]:
        return {
            "chat_id": self.chat,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": False, "prefer_large_media": True},
        }

    def _edit(self, kind: str, message: int, post: Post, extra: str, replace: str = "") -> None:
        body: dict[str, Any] = {"chat_id": self.chat, "message_id": message, "parse_mode": "HTML"}
        if kind == PHOTO:
            method, key = "editMessageCaption", "caption"
            text = markup(post, CAPTION_LIMIT, whole=False, extra=extra)
        else:
            method, key = "editMessageText", "text"
            text = markup(post, TEXT_LIMIT, whole=True, extra=extra)
        body[key] = html.escape(replace, quote=False) if replace else text
        reply = self._call(method, safe=True, json_body=body)
        if not reply.ok:
            description = self._refusal(reply)
            if "message is not modified" not in description:
                raise PublishError(f"telegram: {method}: {description}")

    def _send(self, method: str, **kwargs: Any) -> int:
        """A send that is not idempotent: an unreadable success may have posted."""
        reply = self._call(method, safe=False, **kwargs)
        if not reply.ok:
            raise PublishError(f"telegram: {method}: {self._refusal(reply)}")
        try:
            body = reply.json()
        except PublishError as exc:
            raise Uncertain(f"telegram: {method}: {exc.message}") from exc
        ok = isinstance(body, dict) and body.get("ok") is True
        result = body.get("result") if ok else None
        number = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise Uncertain(
                f"telegram: {method}: answer without a message id: {reply.body[:200]!r}"
            )
        return number

    def _call(self, method: str, *, safe: bool, **kwargs: Any) -> Reply:
        url = f"{self.api}/bot{self.token}/{method}"
        reply = self.http.request("POST", url, safe=safe, label=method, **kwargs)
        if reply.status in {401, 404}:  # Telegram's answer to an unknown or revoked token
            raise PublishError(
                f"telegram: {method}: HTTP {reply.status}: check the bot token"
                " (telegram_token) and telegram_api"
            )
        return reply

    def _refusal(self, reply: Reply) -> str:
        try:
            body = reply.json()
        except PublishError:
            return f"HTTP {reply.status} {reply.body[:200]!r}"
        description = body.get("description") if isinstance(body, dict) else None
        if not isinstance(description, str):
            return f"HTTP {reply.status} {reply.body[:200]!r}"
        if reply.status == 403:
            return f"{description} (is the bot an administrator of {self.chat}?)"
        return description[:500]

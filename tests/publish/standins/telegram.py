"""Telegram's Bot API, as much as syndication uses, on loopback.

Wire format from core.telegram.org/bots/api: ``/bot<token>/<method>``, GET
or POST with a query string, urlencoded, JSON or multipart body; every answer
is ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …,
"description": "…", "parameters": {"retry_after": n}}``. HTML captions and
texts are parsed as Telegram does (only its tags; lengths counted after
parsing, in UTF-16 units), so a bad escape is refused as it would be there.
Checked against python-telegram-bot in ``test_channel_telegram.py``.
"""

from __future__ import annotations

import html
import io
import itertools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from PIL import Image

from tests.publish.standins.server import Answer, Request, StandIn

TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
TAGS |= {"span", "tg-spoiler", "blockquote", "tg-emoji"}
CHAT_ID = -1001234567890


class EntityError(ValueError):
    pass


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text += data


def visible(text: str, parse_mode: str | None) -> str:
    """The text a reader sees, as Telegram parses it (HTML mode)."""
    if parse_mode != "HTML":
        return text
    if re.search(r"<(?![a-zA-Z/])", text) or re.search(
        r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text
    ):
        raise EntityError("unescaped < or &")
    parser = _Visible()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return html.unescape(parser.text)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Message:
    message_id: int
    text: str | None = None  # as sent (with markup)
    caption: str | None = None
    photo: bytes | None = None
    parse_mode: str | None = None
    edits: list[str] = field(default_factory=list)
    deleted: bool = False


class Telegram(StandIn):
    def __init__(self, token: str = "123456:ABC-prueba", chat: str = "@prueba") -> None:  # noqa: S107
        super().__init__()
        self.token = token
        self.chat = chat
        self.messages: dict[int, Message] = {}
        self.undeletable: set[int] = set()  # older than 48 hours
        self._ids = itertools.count(101)

    def live(self) -> list[Message]:
        return [m for m in self.messages.values() if not m.deleted]

    @staticmethod
    def error(code: int, description: str, **parameters: Any) -> Answer:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return Answer(code, body)

    def _chat(self) -> dict[str, Any]:
        return {
            "id": CHAT_ID,
            "title": "Prueba",
            "type": "channel",
            "username": self.chat.lstrip("@"),
        }

    def _entity(self, message: Message) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "message_id": message.message_id,
            "sender_chat": self._chat(),
            "chat": self._chat(),
            "date": 1790000000,
        }
        if message.edits:
            entity["edit_date"] = 1790000100
        if message.photo is not None:
            with Image.open(io.BytesIO(message.photo)) as image:
                width, height = image.size
            entity["photo"] = [
                {
                    "file_id": f"AgACAgEAAx0C{message.message_id}",
                    "file_unique_id": f"AQAD{message.message_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(message.photo),
                }
            ]
            if message.caption:
                entity["caption"] = visible(message.caption, message.parse_mode)
        else:
            entity["text"] = visible(message.text or "", message.parse_mode)
        return entity

    def handle(self, request: Request) -> Answer:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path)
        if not match:
            return self.error(404, "Not Found")
        if match[1] != self.token:
            return self.error(401, "Unauthorized")
        fields = {k: v[0] for k, v in request.query.items()}
        fields.update(request.form())
        method = match[2].lower()
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return self.error(404, "Not Found")
        if method != "getme" and str(fields.get("chat_id")) not in {self.chat, str(CHAT_ID)}:
            return self.error(400, "Bad Request: chat not found")
        try:
            return handler(fields)
        except EntityError as exc:
            return self.error(400, f"Bad Request: can't parse entities: {exc}")

    def _getme(self, fields: dict[str, Any]) -> Answer:
        user = {"id": 123456, "is_bot": True, "first_name": "Prueba", "username": "prueba_bot"}
        user |= {"can_join_groups": True, "can_read_all_group_messages": False}
        return Answer(200, {"ok": True, "result": {**user, "supports_inline_queries": False}})

    def _sendmessage(self, fields: dict[str, Any]) -> Answer:
        text, mode = str(fields.get("text", "")), fields.get("parse_mode")
        shown = visible(text, mode)
        if not shown.strip():
            return self.error(400, "Bad Request: message text is empty")
        if units(shown) > 4096:
            return self.error(400, "Bad Request: message is too long")
        message = Message(next(self._ids), text=text, parse_mode=mode)
        self.messages[message.message_id] = message
        return Answer(200, {"ok": True, "result": self._entity(message)})

    def _sendphoto(self, fields: dict[str, Any]) -> Answer:
        photo = fields.get("photo")
        if not isinstance(photo, tuple):
            return self.error(400, "Bad Request: there is no photo in the request")
        data = photo[1]
        if len(data) > 10 * 1024 * 1024:
            return self.error(400, "Bad Request: file is too big")
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except Exception:
            return self.error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption, mode = fields.get("caption"), fields.get("parse_mode")
        if caption and units(visible(caption, mode)) > 1024:
            return self.error(400, "Bad Request: message caption is too long")
        message = Message(next(self._ids), caption=caption, photo=data, parse_mode=mode)
        self.messages[message.message_id] = message
        return Answer(200, {"ok": True, "result": self._entity(message)})

    def _target(self, fields: dict[str, Any]) -> Message | None:
        message = self.messages.get(int(fields.get("message_id", 0)))
        return None if message is None or message.deleted else message

    def _edit(self, fields: dict[str, Any], key: str, limit: int) -> Answer:
        message = self._target(fields)
        if message is None:
            return self.error(400, "Bad Request: message to edit not found")
        new, mode = str(fields.get(key, "")), fields.get("parse_mode")
        if units(visible(new, mode)) > limit:
            return self.error(400, "Bad Request: message is too long")
        if (message.caption if key == "caption" else message.text) == new:
            return self.error(
                400,
                "Bad Request: message is not modified: specified new message content and reply"
                " markup are exactly the same as a current content and reply markup of the message",
            )
        if key == "caption" and message.photo is None:
            return self.error(400, "Bad Request: there is no caption in the message to edit")
        if key == "text" and message.photo is not None:
            return self.error(400, "Bad Request: there is no text in the message to edit")
        message.edits.append((message.caption if key == "caption" else message.text) or "")
        setattr(message, key, new)
        message.parse_mode = mode
        return Answer(200, {"ok": True, "result": self._entity(message)})

    def _editmessagetext(self, fields: dict[str, Any]) -> Answer:
        return self._edit(fields, "text", 4096)

    def _editmessagecaption(self, fields: dict[str, Any]) -> Answer:
        return self._edit(fields, "caption", 1024)

    def _deletemessage(self, fields: dict[str, Any]) -> Answer:
        message = self._target(fields)
        if message is None:
            return self.error(400, "Bad Request: message to delete not found")
        if message.message_id in self.undeletable:
            return self.error(400, "Bad Request: message can't be deleted")
        message.deleted = True
        return Answer(200, {"ok": True, "result": True})

"""The e-mail newsletter: each published item to each confirmed subscriber.

One message per subscriber (multipart/alternative, text and HTML), in the
item's language, with the reader's own unsubscribe link and the RFC 8058
one-click headers (``List-Unsubscribe``, ``List-Unsubscribe-Post``). A reader
who chose a language gets the item in that language when it exists in it, and
only then (see :func:`minga.publish.newsletter.recipients`).

Every message is recorded (:class:`~minga.publish.models.Mailing`, unique
``Message-ID`` per item, action and reader) *before* it is handed to the
server, so a crash or a dead link mid-way never mails anyone twice: a
retry skips whoever has a record, and a record left ``sending`` is a message
that may or may not have gone out, never sent again on its own. That makes
the channel idempotent. Corrections and retractions go, as short messages
of their own, to the readers who got the item.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from minga.exceptions import RetryLater
from minga.publish import newsletter
from minga.publish.channels.base import Post, Remote
from minga.publish.channels.content import (
    clean,
    correction_line,
    language,
    retraction_text,
    shorten,
)
from minga.publish.channels.smtp import Connection, Refused, Server, Unclear
from minga.publish.models import Action, Mailing, MailState, Subscriber


def message_id(item_key: str, action: str, detail: str, subscriber: Subscriber) -> str:
    digest = hashlib.sha256(f"{item_key}\n{action}\n{detail}\n{subscriber.pk}".encode()).hexdigest()
    return f"<{digest[:40]}@{newsletter.sender_domain()}>"


class Email:
    name = "email"
    idempotent = True  # every message is recorded before it is sent

    def __init__(self, server: Server, sender: str) -> None:
        self.server = server
        self.sender = sender

    @classmethod
    def configured(cls) -> Email | None:
        server = Server.configured()
        if server is None:
            return None
        return cls(server, settings.MINGA.newsletter_from)

    # -- the channel ---------------------------------------------------------
    def post(self, post: Post) -> Remote:
        readers = newsletter.recipients(post)
        sent = self._mail(post, str(Action.POST), "", readers, self._full)
        return Remote(f"{sent} sent")

    def correct(self, post: Post, remote: Remote) -> Remote:
        note = correction_line(post)
        sent = self._mail(
            post, str(Action.CORRECT), note, self._readers_of(post), self._short(note)
        )
        return Remote(f"{sent} sent")

    def retract(self, post: Post, remote: Remote) -> None:
        note = retraction_text(post)
        self._mail(post, str(Action.RETRACT), note, self._readers_of(post), self._short(note))

    # -- sending -----------------------------------------------------------------
    def _readers_of(self, post: Post) -> list[Subscriber]:
        ids = Mailing.objects.filter(
            item_key=post.key, action=Action.POST, state=MailState.SENT
        ).values_list("subscriber_id", flat=True)
        return list(Subscriber.objects.filter(pk__in=ids, confirmed__isnull=False).order_by("pk"))

    def _mail(
        self,
        post: Post,
        action: str,
        detail: str,
        readers: Iterable[Subscriber],
        build: Callable[[Post, Subscriber, EmailMessage], None],
    ) -> int:
        """Send to every reader without a record yet; returns how many have one sent."""
        done = 0
        connection: Connection | None = None
        try:
            for reader in readers:
                mid = message_id(post.key, action, detail, reader)
                try:
                    with transaction.atomic():
                        record = Mailing.objects.create(
                            subscriber=reader, message_id=mid, item_key=post.key, action=action
                        )
                except IntegrityError:
                    done += 1  # mailed before (or interrupted): never twice
                    continue
                message = self._message(post, reader, mid)
                build(post, reader, message)
                message["Content-Language"] = language(post)  # after: parts take Content-*
                if connection is None:
                    connection = Connection(self.server)
                    try:
                        connection.__enter__()
                    except BaseException:
                        connection = None
                        record.delete()
                        raise
                try:
                    connection.send(message)
                except Refused as exc:
                    record.state, record.error = MailState.REFUSED, exc.message[:2000]
                    record.save(update_fields=["state", "error"])
                    continue
                except Unclear as exc:
                    record.error = exc.message[:2000]
                    record.save(update_fields=["error"])
                    raise
                except BaseException:
                    record.delete()  # not handed over: send it on the next try
                    raise
                record.state = MailState.SENT
                record.save(update_fields=["state"])
                done += 1
        except Unclear as exc:
            raise RetryLater(f"{exc.message}; not sent to that reader again") from exc
        finally:
            if connection is not None:
                connection.__exit__(None, None, None)
        return done

    def _message(self, post: Post, reader: Subscriber, mid: str) -> EmailMessage:
        message = EmailMessage()
        name = post.outlet or newsletter.sender_domain()
        message["From"] = Address(name, addr_spec=self.sender)
        message["To"] = reader.email
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mid
        unsubscribe = newsletter.unsubscribe_url(reader)
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["List-Id"] = f"{name} <newsletter.{newsletter.sender_domain()}>"
        message["Auto-Submitted"] = "auto-generated"
        return message

    def _context(self, post: Post, reader: Subscriber, **extra: Any) -> dict[str, Any]:
        return {
            "post": post,
            "unsubscribe": newsletter.unsubscribe_url(reader),
            "paragraphs": [p for p in clean(post.text).split("\n\n") if p.strip()],
            **extra,
        }

    def _full(self, post: Post, reader: Subscriber, message: EmailMessage) -> None:
        with translation.override(language(post)):
            title = post.title if post.number is not None else shorten(post.text, 80)
            message["Subject"] = shorten(f"{title}", 150)
            context = self._context(post, reader, title=title, body_html=post.html)
            message.set_content(render_to_string("publish/newsletter_mail.txt", context))
            message.add_alternative(
                render_to_string("publish/newsletter_mail.html", context), subtype="html"
            )

    def _short(self, note: str) -> Callable[[Post, Subscriber, EmailMessage], None]:
        def build(post: Post, reader: Subscriber, message: EmailMessage) -> None:
            with translation.override(language(post)):
                first = message_id(post.key, str(Action.POST), "", reader)
                message["In-Reply-To"] = first
                message["References"] = first
                label = f"#{post.number}" if post.number is not None else _("a note")
                message["Subject"] = shorten(f"{post.outlet}: {note}", 150)
                context = self._context(post, reader, title=label, note=note)
                context["note_html"] = html.escape(note)
                message.set_content(render_to_string("publish/newsletter_note.txt", context))
                message.add_alternative(
                    render_to_string("publish/newsletter_note.html", context), subtype="html"
                )

        return build

"""Newsletter subscribers: double opt-in, confirmation, unsubscribing.

Subscribing records the address unconfirmed and mails a confirmation link;
only a confirmed reader is sent anything else. Every reader has one secret
token for the confirm and unsubscribe links; unsubscribing deletes the
reader (and the record of what they were sent).
"""

from __future__ import annotations

import secrets
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from minga.exceptions import ConfigError, InvalidInput, NotFound
from minga.publish.channels.base import Post
from minga.publish.channels.content import Edition
from minga.publish.channels.smtp import Connection, Server
from minga.publish.models import Subscriber

LANGUAGES = ("", "es", "en")


def sender_domain() -> str:
    sender = str(settings.MINGA.newsletter_from)
    return sender.rpartition("@")[2] or "localhost"


def _absolute(path: str) -> str:
    return f"{settings.MINGA.base_url}{path}"


def confirm_url(reader: Subscriber) -> str:
    return _absolute(reverse("publish:newsletter-confirm", args=[reader.token]))


def unsubscribe_url(reader: Subscriber) -> str:
    return _absolute(reverse("publish:newsletter-unsubscribe", args=[reader.token]))


def recipients(post: Post) -> list[Subscriber]:
    """Confirmed readers who get this item: those without a language, those who
    chose its language, and those whose language the item is not published in."""
    languages = set(post.languages) if isinstance(post, Edition) else set()
    languages.add(post.language)
    readers = Subscriber.objects.filter(confirmed__isnull=False).order_by("pk")
    return [
        r
        for r in readers
        if not r.language or r.language == post.language or r.language not in languages
    ]


def normalise(email: str) -> str:
    address = email.strip()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvalidInput(_("not an e-mail address: %(email)s") % {"email": address}) from exc
    # Local parts may be case-sensitive by the letter of RFC 5321, never in
    # practice: one reader, one row.
    return address.lower()


def subscribe(email: str, language: str = "") -> Subscriber:
    """Record a reader (unconfirmed) and mail the confirmation link. Subscribing
    again an unconfirmed address mails the link again; a confirmed one is left as is."""
    if language not in LANGUAGES:
        raise InvalidInput(_("the newsletter speaks es or en"))
    server = Server.configured()
    if server is None:
        raise ConfigError("the newsletter needs smtp_url, newsletter_from (and smtp_password)")
    address = normalise(email)
    with transaction.atomic():
        reader, created = Subscriber.objects.get_or_create(
            email=address, defaults={"language": language, "token": secrets.token_urlsafe(32)}
        )
        if not created and language != reader.language:
            reader.language = language
            reader.save(update_fields=["language"])
    if reader.confirmed is None:
        _send_confirmation(server, reader)
    return reader


def _send_confirmation(server: Server, reader: Subscriber) -> None:
    with translation.override(reader.language or settings.MINGA.language):
        message = EmailMessage()
        message["From"] = Address(sender_domain(), addr_spec=settings.MINGA.newsletter_from)
        message["To"] = reader.email
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=sender_domain())
        message["Subject"] = _("Confirm your subscription")
        message["Auto-Submitted"] = "auto-generated"
        context = {"confirm": confirm_url(reader), "site": settings.MINGA.site_url}
        message.set_content(render_to_string("publish/newsletter_confirm_mail.txt", context))
    with Connection(server) as smtp:
        smtp.send(message)


def _by_token(token: str) -> Subscriber:
    reader = Subscriber.objects.filter(token=token).first() if token else None
    if reader is None:
        raise NotFound(_("this link is not valid any more"))
    return reader


def confirm(token: str) -> Subscriber:
    reader = _by_token(token)
    if reader.confirmed is None:
        reader.confirmed = timezone.now()
        reader.save(update_fields=["confirmed"])
    return reader


def unsubscribe(token: str) -> bool:
    """Forget the reader with this token; False when there was none."""
    deleted, _rows = Subscriber.objects.filter(token=token).delete() if token else (0, {})
    return deleted > 0


def unsubscribe_address(email: str) -> bool:
    deleted, _rows = Subscriber.objects.filter(email=normalise(email)).delete()
    return deleted > 0

"""What every syndication channel does, and what it is given.

A channel posts a published item (:class:`Post`), follows a correction up
(an edit where the platform has one, else a reply or a new message naming the
correction) and a retraction (delete where it can, and a public note). Every
call is recorded as a :class:`~minga.publish.models.Delivery`; ``remote`` is
what the first post answered, so follow-ups reach the same message.

Channels raise :class:`~minga.exceptions.RetryLater` for passing failures,
:class:`~minga.exceptions.Uncertain` when a request may have been carried out
but the answer was lost (and ``idempotent`` is False), and
:class:`~minga.exceptions.PublishError` for refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    path: Path  # the public (clean) file on this node
    mime: str
    alt: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Post:
    key: str  # dispatch address or note id
    number: int | None
    title: str
    summary: str  # plain text, short
    text: str  # the whole body as plain text
    html: str  # the whole body as safe HTML (for e-mail)
    url: str  # absolute URL of the item's page on the outlet's site
    language: str
    hashtags: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    outlet: str  # the outlet's name
    correction: str = ""  # the public note of the newest correction
    retraction: str = ""  # the public note of the retraction


@dataclass(frozen=True)
class Remote:
    id: str
    url: str = ""


class Channel(Protocol):
    name: str  # mastodon, telegram, bluesky, email
    # True when sending the same request again cannot post twice (an
    # idempotency key, a record key chosen by us): interrupted sends are retried.
    idempotent: bool

    def post(self, post: Post) -> Remote: ...

    def correct(self, post: Post, remote: Remote) -> Remote: ...

    def retract(self, post: Post, remote: Remote) -> None: ...

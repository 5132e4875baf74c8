"""Tables of the event store. Hot paths use the SQL of ``minga.events.sql``
and ``minga.store.ingest`` on these same tables; the ORM serves the admin and
the web pages."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Q


class StoredEvent(models.Model):
    """One stored version of an event. Nothing is ever deleted from here:
    superseded versions have ``current = False``, NIP-09 deletions set
    ``deleted = True``."""

    seq = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=64, unique=True, db_column="id")
    pubkey = models.CharField(max_length=64)
    created_at = models.BigIntegerField()
    kind = models.IntegerField()
    address = models.TextField(null=True, blank=True)
    current = models.BooleanField(default=True)
    deleted = models.BooleanField(default=False)
    private = models.BooleanField(default=False)
    expires_at = models.BigIntegerField(null=True, blank=True)
    raw = models.TextField()
    received_at = models.BigIntegerField()

    class Meta:
        db_table = "minga_event"
        indexes = [
            models.Index(fields=["pubkey", "kind", "-created_at"], name="ev_author_kind_time"),
            models.Index(fields=["pubkey", "-created_at"], name="ev_author_time"),
            models.Index(fields=["kind", "-created_at"], name="ev_kind_time"),
            models.Index(fields=["-created_at"], name="ev_time"),
            models.Index(
                fields=["address", "-created_at"],
                name="ev_address_time",
                condition=Q(address__isnull=False),  # regular events stay out of it
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["address"],
                condition=Q(current=True) & Q(address__isnull=False),
                name="ev_one_current_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.event_id[:12]}…"

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw)
        return value


class Tag(models.Model):
    """A single-letter tag (name and first value) of a stored event, for filters."""

    # No index of its own: tag_lookup covers the filter path, and stored events
    # are never deleted (an extra b-tree per tag row would slow every ingest).
    event = models.ForeignKey(
        StoredEvent, on_delete=models.CASCADE, related_name="tag_rows", db_index=False
    )
    name = models.CharField(max_length=1)
    value = models.TextField()
    created_at = models.BigIntegerField()

    class Meta:
        db_table = "minga_tag"
        indexes = [
            models.Index(fields=["name", "value", "-created_at", "event"], name="tag_lookup"),
        ]

    def __str__(self) -> str:
        return f"#{self.name}={self.value[:20]}"


class Release(models.Model):
    """An address (``kind:pubkey:d``) or event id released from the embargo."""

    key = models.TextField(primary_key=True)
    released_at = models.BigIntegerField()
    # Versions of an address created before this stay private: the drafts the
    # desk edited before publishing may hold what must not be public (a
    # source's name); the published version and later corrections are public.
    since = models.BigIntegerField(default=0)

    class Meta:
        db_table = "minga_release"

    def __str__(self) -> str:
        return self.key

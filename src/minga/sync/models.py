"""What replication remembers between restarts: its links and its pending work.

A :class:`Link` is one path to somewhere else — a peer node, a public relay, a
Blossom server, a mesh destination — with what the desk needs to see of it
(last contact, last error, counters). Work that must survive a crash is a job
row (:class:`~minga.publish.models.Job`): an event owed to a relay or a mesh
destination, a blob still to fetch.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from minga.publish.models import Job


class Role(models.TextChoices):
    PEER = "peer", _("peer node")
    OUTBOX = "outbox", _("outbox relay")  # the outlet's public events go there
    INBOX = "inbox", _("inbox relay")  # members' events are pulled from there
    BLOSSOM = "blossom", _("Blossom server")
    MESH = "mesh", _("mesh destination")


class Link(models.Model):
    """One path to one place, as last seen."""

    url = models.CharField(max_length=500)  # ws://…/relay, https://…, lxmf://<hash>
    role = models.CharField(max_length=10, choices=Role.choices)
    pubkey = models.CharField(max_length=64, blank=True)  # a peer's node key
    connected = models.BooleanField(default=False)
    last_contact = models.BigIntegerField(null=True, blank=True)  # unix time
    last_attempt = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.BigIntegerField(null=True, blank=True)
    # Peers: the newest created_at seen on the live subscription (it resumes
    # from here, with some slack), and the moment of the last full
    # reconciliation; every event this node stored before ``synced_until``
    # (its received_at) is known to be on the peer too.
    cursor = models.BigIntegerField(default=0)
    reconciled_at = models.BigIntegerField(null=True, blank=True)
    synced_until = models.BigIntegerField(default=0)
    pending_in = models.PositiveIntegerField(default=0)  # ids known missing here
    pending_out = models.PositiveIntegerField(default=0)  # ids known missing there
    events_in = models.BigIntegerField(default=0)
    events_out = models.BigIntegerField(default=0)
    blobs_in = models.BigIntegerField(default=0)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)

    class Meta:
        db_table = "minga_link"
        constraints = [models.UniqueConstraint(fields=["role", "url"], name="one_link")]

    def __str__(self) -> str:
        return f"{self.role} {self.url}"


class RelayPost(Job):
    """One event owed to one outbox relay (sent with EVENT until it says OK).

    Sending an event twice is harmless (relays answer ``duplicate:``), so a
    post left ``running`` by a crash is simply sent again."""

    relay = models.CharField(max_length=500)
    event_id = models.CharField(max_length=64)

    class Meta:
        db_table = "minga_relay_post"
        constraints = [models.UniqueConstraint(fields=["relay", "event_id"], name="one_relay_post")]
        indexes = [models.Index(fields=["state", "next_attempt"], name="relay_post_due")]

    def __str__(self) -> str:
        return f"{self.relay} {self.event_id[:12]} ({self.state})"


class MeshPost(Job):
    """One event owed to one mesh (LXMF) destination."""

    destination = models.CharField(max_length=64)  # LXMF destination hash, hex
    event_id = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, blank=True)  # LXMF message hash

    class Meta:
        db_table = "minga_mesh_post"
        constraints = [
            models.UniqueConstraint(fields=["destination", "event_id"], name="one_mesh_post")
        ]
        indexes = [models.Index(fields=["state", "next_attempt"], name="mesh_post_due")]

    def __str__(self) -> str:
        return f"{self.destination[:12]} {self.event_id[:12]} ({self.state})"


class BlobFetch(Job):
    """A blob an event references that this node does not hold yet."""

    sha256 = models.CharField(max_length=64, unique=True)
    event_id = models.CharField(max_length=64)  # the first event that named it
    size = models.BigIntegerField(null=True, blank=True)  # when the event says
    hints = models.TextField(blank=True)  # URLs the event gave, one per line
    source = models.CharField(max_length=500, blank=True)  # the last place tried
    received = models.BigIntegerField(default=0)  # bytes of the partial file

    class Meta:
        db_table = "minga_blob_fetch"
        indexes = [models.Index(fields=["state", "next_attempt"], name="blob_fetch_due")]

    def __str__(self) -> str:
        return f"blob {self.sha256[:12]} ({self.state})"

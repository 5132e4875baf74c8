"""Jobs of the publisher, recorded so a crash or a dead link never loses one.

A *deployment* puts one version of the site (one signed manifest) on one
target; a *delivery* does one thing (post, correct, retract) for one item on
one syndication channel. Each is unique for what it does, so a retry or a
restart can never post or deploy the same thing twice.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    PENDING = "pending", _("waiting")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")  # refused for good: a person must look
    UNCERTAIN = "uncertain", _("uncertain")  # may have gone out: never re-sent alone
    SUPERSEDED = "superseded", _("superseded")  # a newer job made this one moot


class Job(models.Model):
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.BigIntegerField(default=0)  # unix time it is due
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Deployment(Job):
    """One version of the site on one target."""

    target = models.CharField(max_length=300)  # the target's URL from publish_targets
    aggregate = models.CharField(max_length=64)  # NIP-5A aggregate hash of the version
    manifest_id = models.CharField(max_length=64)
    files_sent = models.PositiveIntegerField(default=0)
    bytes_sent = models.BigIntegerField(default=0)
    files_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "minga_deployment"
        constraints = [
            models.UniqueConstraint(fields=["target", "aggregate"], name="one_deploy_per_version")
        ]
        indexes = [models.Index(fields=["state", "next_attempt"], name="deploy_due")]

    def __str__(self) -> str:
        return f"{self.target} {self.aggregate[:12]} ({self.state})"


class Action(models.TextChoices):
    POST = "post", _("post")
    CORRECT = "correct", _("correction")
    RETRACT = "retract", _("retraction")


class Delivery(Job):
    """One action for one published item on one syndication channel."""

    channel = models.CharField(max_length=20)  # mastodon, telegram, bluesky, email
    item_key = models.CharField(max_length=200)  # dispatch address or note id
    action = models.CharField(max_length=10, choices=Action.choices)
    version = models.CharField(max_length=64)  # event id: the version, or the deletion
    remote_id = models.TextField(blank=True)  # status id, message id, at:// URI…
    remote_url = models.TextField(blank=True)

    class Meta:
        db_table = "minga_delivery"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "item_key", "action", "version"], name="one_delivery"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt"], name="delivery_due"),
            models.Index(fields=["channel", "item_key"], name="delivery_item"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.action} {self.item_key[:24]} ({self.state})"


class Subscriber(models.Model):
    """A reader of the e-mail newsletter (double opt-in: mailed once confirmed).

    ``token`` is the reader's own secret for the confirm and unsubscribe links.
    Unsubscribing deletes the row: a list of readers is worth protecting, and
    the smallest one is the safest.
    """

    email = models.EmailField(max_length=254, unique=True)
    language = models.CharField(max_length=8, blank=True)  # "": every language
    token = models.CharField(max_length=64, unique=True)
    confirmed = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "minga_subscriber"

    def __str__(self) -> str:
        return f"{self.email} ({'confirmed' if self.confirmed else 'unconfirmed'})"


class MailState(models.TextChoices):
    SENDING = "sending", _("sending")  # written before sending: left so if interrupted
    SENT = "sent", _("sent")
    REFUSED = "refused", _("refused")  # the server refused this address for good


class Mailing(models.Model):
    """One newsletter message to one subscriber, written before it is sent, so a
    crash mid-way never mails anyone twice: a row left ``sending`` is never
    sent again on its own."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="mailings")
    message_id = models.CharField(max_length=200, unique=True)
    item_key = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    state = models.CharField(max_length=10, choices=MailState.choices, default=MailState.SENDING)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "minga_mailing"
        indexes = [models.Index(fields=["item_key", "action"], name="mailing_item")]

    def __str__(self) -> str:
        return f"{self.action} {self.item_key[:24]} to {self.subscriber_id} ({self.state})"

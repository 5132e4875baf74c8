from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outlet(models.Model):
    """The outlet this node serves: its name and the public key that signs for it.

    The outlet's secret key may be custodial (``minga.keys``) or held offline;
    the node only needs the public key to check the roster.
    """

    name = models.CharField(_("name"), max_length=200)
    pubkey = models.CharField(_("public key"), max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "minga_outlet"
        verbose_name = _("outlet")

    def __str__(self) -> str:
        return str(self.name)

    @classmethod
    def current(cls) -> Outlet | None:
        outlet: Outlet | None = cls.objects.order_by("pk").first()
        return outlet


class Role:
    ADMIN = "admin"
    EDITOR = "editor"
    REPORTER = "reporter"
    CONTRIBUTOR = "contributor"
    values = (ADMIN, EDITOR, REPORTER, CONTRIBUTOR)
    choices = [
        (ADMIN, _("Admin")),
        (EDITOR, _("Editor")),
        (REPORTER, _("Reporter")),
        (CONTRIBUTOR, _("Contributor")),
    ]


DESK_ROLES = (Role.ADMIN, Role.EDITOR)


class Custody:
    CUSTODIAL = "custodial"
    NIP07 = "nip07"
    NIP46 = "nip46"
    choices = [
        (CUSTODIAL, _("The node keeps my key")),
        (NIP07, _("My browser extension (NIP-07)")),
        (NIP46, _("My remote signer (NIP-46, e.g. Amber)")),
    ]


class Person(models.Model):
    """Someone of the collective: a login, a key, a role on the roster."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="person"
    )
    name = models.CharField(_("name"), max_length=200)
    pubkey = models.CharField(_("public key"), max_length=64, unique=True)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    custody = models.CharField(_("key"), max_length=10, choices=Custody.choices)
    bunker = models.TextField(_("remote signer"), blank=True)
    # The node's own key for talking to the remote signer (NIP-46), kept custodially.
    signer_client = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "minga_person"
        verbose_name = _("person")
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)

    @property
    def at_desk(self) -> bool:
        return self.active and self.role in DESK_ROLES


class Invitation(models.Model):
    """A one-time link: whoever opens it first chooses a password and a key."""

    token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        db_table = "minga_invitation"

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class LoginFailure(models.Model):
    """A failed sign-in, counted per account and address to slow guessing down."""

    key = models.CharField(max_length=300, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "minga_login_failure"

    def __str__(self) -> str:
        return self.key


class State:
    FILED = "filed"
    REVIEW = "review"
    APPROVED = "approved"
    PUBLISHED = "published"
    RETURNED = "returned"
    RETRACTED = "retracted"
    choices = [
        (FILED, _("Filed")),
        (REVIEW, _("In review")),
        (APPROVED, _("Approved")),
        (PUBLISHED, _("Published")),
        (RETURNED, _("Sent back")),
        (RETRACTED, _("Retracted")),
    ]

    @classmethod
    def label(cls, value: str) -> str:
        return str(dict(cls.choices).get(value, value))


class Story(models.Model):
    """The desk's record of one filed item: a dispatch (by address) or a note (by id)."""

    key = models.TextField(unique=True)
    kind = models.IntegerField()
    author = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FILED)
    number = models.IntegerField(null=True, blank=True, unique=True)
    repost_id = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "minga_story"
        verbose_name_plural = "stories"

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class Counter(models.Model):
    """Gapless counters (dispatch numbers), advanced inside the publishing transaction."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "minga_counter"

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class AuditEntry(models.Model):
    """Every desk and admin action: who, what, on what, when."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_pubkey = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=40)
    target = models.TextField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "minga_audit"
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"

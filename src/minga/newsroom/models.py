from __future__ import annotations

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
        return self.name

    @classmethod
    def current(cls) -> Outlet | None:
        return cls.objects.order_by("pk").first()

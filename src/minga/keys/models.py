from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose:
    NODE = "node"
    OUTLET = "outlet"
    PERSON = "person"
    CLIENT = "client"  # a NIP-46 client key, for talking to someone's remote signer
    CHOICES = (
        (NODE, _("node")),
        (OUTLET, _("outlet")),
        (PERSON, _("person")),
        (CLIENT, _("client")),
    )


class CustodialKey(models.Model):
    """A secret key the node keeps for someone, sealed with the vault key."""

    pubkey = models.CharField(max_length=64, primary_key=True)
    label = models.CharField(_("label"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.CHOICES)
    sealed = models.BinaryField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "minga_custodial_key"
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"],
                condition=models.Q(purpose__in=["node", "outlet"]),
                name="one_node_key_one_outlet_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.purpose}, {self.pubkey[:12]}…)"

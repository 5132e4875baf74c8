"""First start of a node: schema, node key, outlet key, first admin."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from minga.events.signing import SecretKey
from minga.exceptions import Conflict
from minga.keys import custody
from minga.keys.models import CustodialKey, Purpose
from minga.newsroom import people, profiles
from minga.newsroom.models import Outlet, Role


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)


def collect_static() -> None:
    """Hashed, pre-compressed copies of the static files for WhiteNoise to serve."""
    call_command("collectstatic", interactive=False, verbosity=0)


@dataclass(frozen=True)
class Identity:
    outlet_name: str
    outlet: str
    node: str
    created: bool


def ensure_identity(outlet_name: str = "minga", outlet_key: SecretKey | None = None) -> Identity:
    """Create the vault, node key, outlet key and outlet if they are missing.

    ``outlet_key``: join an existing outlet (another node of the collective)
    instead of making a new one; its profile then comes from the peers.
    """
    custody.vault(create=True)
    created = False
    with transaction.atomic():
        if not CustodialKey.objects.filter(purpose=Purpose.NODE).exists():
            custody.keep(SecretKey.generate(), "node", Purpose.NODE)
            created = True
        outlet = Outlet.current()
        if outlet is not None and outlet_key is not None and outlet.pubkey != outlet_key.pubkey:
            raise Conflict("this node already belongs to another outlet")
        if outlet is None:
            key = outlet_key or SecretKey.generate()
            custody.keep(key, outlet_name, Purpose.OUTLET)
            outlet = Outlet.objects.create(name=outlet_name, pubkey=key.pubkey)
            if outlet_key is None:
                profiles.publish(key, outlet_name)
            created = True
    node = CustodialKey.objects.get(purpose=Purpose.NODE)
    return Identity(outlet.name, outlet.pubkey, node.pubkey, created)


def create_admin(username: str, password: str) -> str:
    """The first admin: a superuser with a custodial key, on the roster as admin."""
    if get_user_model().objects.filter(username=username).exists():
        raise Conflict(f"there is already a user called {username!r}")
    person = people.create_person(username, password, username, Role.ADMIN)
    return str(person.pubkey)

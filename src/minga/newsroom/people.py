"""Invitations, accounts and keys of the collective; the roster follows them."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minga.events.event import Event
from minga.events.signing import SecretKey
from minga.events.validate import parse_event
from minga.exceptions import Conflict, Forbidden, InvalidInput, MingaError, NotFound
from minga.keys import custody
from minga.keys.models import Purpose
from minga.newsroom import audit, membership, profiles
from minga.newsroom.models import Custody, Invitation, Person, Role

INVITATION_HOURS = 72
PROOF_KIND = 27235  # a signed statement "this key joins the outlet" (NIP-98-like)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(by: Any, name: str, role: str, hours: int = INVITATION_HOURS) -> tuple[Invitation, str]:
    """Create a one-time invitation; returns it and the token for the link (shown once)."""
    if role not in Role.values:
        raise InvalidInput(_("role must be one of %(roles)s") % {"roles": ", ".join(Role.values)})
    name = name.strip()
    if not name:
        raise InvalidInput(_("an invitation needs a name"))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        token_hash=_hash(token),
        name=name[:200],
        role=role,
        created_by=by,
        expires=timezone.now() + timedelta(hours=hours),
    )
    audit.record(by, "invite", f"invitation:{invitation.pk}", name=name, role=role)
    return invitation, token


def open_invitation(token: str) -> Invitation:
    """The invitation behind a link, if it can still be used."""
    invitation = Invitation.objects.filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise NotFound(_("this invitation link is not valid"))
    if invitation.used_at is not None:
        raise Forbidden(_("this invitation was already used"))
    if invitation.expires < timezone.now():
        raise Forbidden(_("this invitation has expired: ask for a new one"))
    return invitation


def proof_challenge(token: str) -> str:
    """What a self-custody key signs to show it belongs to whoever opened the link."""
    return f"minga-join:{_hash(token)[:32]}"


def check_proof(token: str, proof: dict[str, Any]) -> str:
    """Verify the signed proof of a NIP-07 key; returns its public key."""
    try:
        event: Event = parse_event(proof)
    except MingaError as exc:
        raise InvalidInput(
            _("the key's signature could not be checked: %(detail)s") % {"detail": exc.message}
        ) from exc
    if event.kind != PROOF_KIND or event.content != proof_challenge(token):
        raise InvalidInput(_("the signed statement is not the one this invitation asked for"))
    if abs(event.created_at - time.time()) > 600:
        raise InvalidInput(_("the signed statement is too old: sign it again"))
    return event.pubkey


def accept(
    token: str,
    username: str,
    password: str,
    key_choice: str,
    proof: dict[str, Any] | None = None,
    bunker: str = "",
) -> Person:
    """Turn an invitation into an account, a key and a place on the roster."""
    invitation = open_invitation(token)
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput(_("choose a user name (up to 150 characters)"))
    user_model = get_user_model()
    try:
        password_validation.validate_password(password, user_model(username=username))
    except ValidationError as exc:
        raise InvalidInput(" ".join(str(m) for m in exc.messages)) from exc
    key: SecretKey | None = None
    if key_choice == Custody.CUSTODIAL:
        key = SecretKey.generate()
        pubkey = key.pubkey
    elif key_choice == Custody.NIP07:
        if not proof:
            raise InvalidInput(_("sign the statement with your browser extension first"))
        pubkey = check_proof(token, proof)
    elif key_choice == Custody.NIP46:
        from minga.newsroom.nip46 import RemoteSigner, parse_uri

        address = parse_uri(bunker)
        client = SecretKey.generate()
        signer = RemoteSigner(address, client)
        signer.connect()
        pubkey = signer.get_public_key()
    else:
        raise InvalidInput(_("choose how your key is kept"))
    try:
        with transaction.atomic():
            invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
            if invitation.used_at is not None:
                raise Forbidden(_("this invitation was already used"))
            if user_model.objects.filter(username__iexact=username).exists():
                raise Conflict(_("that user name is taken: choose another"))
            if Person.objects.filter(pubkey=pubkey).exists():
                raise Conflict(_("that key already belongs to someone here"))
            user = user_model.objects.create_user(username=username, password=password)
            person = Person.objects.create(
                user=user,
                name=invitation.name,
                pubkey=pubkey,
                role=invitation.role,
                custody=key_choice,
            )
            if key is not None:
                custody.keep(key, invitation.name, Purpose.PERSON)
                profiles.publish(key, invitation.name)
            if key_choice == Custody.NIP46:
                custody.keep(client, f"{invitation.name} (remote signer)", Purpose.CLIENT)
                person.bunker = address.uri()
                person.signer_client = client.pubkey
                person.save(update_fields=["bunker", "signer_client"])
            invitation.used_at = timezone.now()
            invitation.person = person
            invitation.save(update_fields=["used_at", "person"])
            membership.add(pubkey, invitation.role)
            audit.record(
                user, "join", f"person:{person.pk}", role=invitation.role, custody=key_choice
            )
    except IntegrityError as exc:
        raise Conflict(_("that user name or key is already taken")) from exc
    return person


def create_person(
    username: str, password: str, name: str, role: str, key: SecretKey | None = None
) -> Person:
    """An account with a custodial key, without an invitation (init, demo, admin tools)."""
    key = key or SecretKey.generate()
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.create_user(username=username, password=password)
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        person = Person.objects.create(
            user=user, name=name, pubkey=key.pubkey, role=role, custody=Custody.CUSTODIAL
        )
        if not custody.listing_has(key.pubkey):
            custody.keep(key, name, Purpose.PERSON)
        profiles.publish(key, name)
        membership.add(key.pubkey, role)
    return person


def set_role(person: Person, role: str, by: Any) -> None:
    if role not in Role.values:
        raise InvalidInput(_("role must be one of %(roles)s") % {"roles": ", ".join(Role.values)})
    with transaction.atomic():
        person.role = role
        person.save(update_fields=["role"])
        membership.add(person.pubkey, role)
        audit.record(by, "role", f"person:{person.pk}", role=role)


def deactivate(person: Person, by: Any, since: int | None = None, reason: str = "") -> None:
    """Take someone off the roster: their key is revoked and they cannot sign in."""
    with transaction.atomic():
        person.active = False
        person.save(update_fields=["active"])
        user = person.user
        user.is_active = False
        user.save(update_fields=["is_active"])
        membership.revoke(person.pubkey, since, reason)
        audit.record(by, "deactivate", f"person:{person.pk}", reason=reason, since=since)

"""Create, import, seal and load the keys the node keeps."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from minga.events.signing import SecretKey
from minga.exceptions import Conflict, InvalidKey, NotFound
from minga.keys import nip19, nip49
from minga.keys.models import CustodialKey, Purpose
from minga.keys.secrets import read_secret
from minga.keys.vault import Vault


def vault(create: bool = False) -> Vault:
    return Vault(
        read_secret("vault.key", "MINGA_VAULT_KEY", settings.MINGA.data_path, create=create)
    )


def parse_secret(text: str, password: str | None = None) -> SecretKey:
    """A secret key given as nsec1…, ncryptsec1… (with its password) or 64 hex."""
    text = text.strip()
    if text.startswith("ncryptsec1"):
        if password is None:
            raise InvalidKey("an ncryptsec key needs its password")
        return SecretKey(nip49.decrypt(text, password))
    if text.startswith("nsec1"):
        return SecretKey.from_hex(nip19.nsec_decode(text))
    if len(text) == 64:
        return SecretKey.from_hex(text)
    raise InvalidKey("a secret key is nsec1…, ncryptsec1… or 64 hexadecimal characters")


@dataclass(frozen=True)
class KeyInfo:
    pubkey: str
    label: str
    purpose: str

    @property
    def npub(self) -> str:
        return nip19.npub_encode(self.pubkey)


def keep(key: SecretKey, label: str, purpose: str = Purpose.PERSON) -> KeyInfo:
    """Seal ``key`` into the store. Refuses a second node or outlet key."""
    sealed = vault().seal(key)
    try:
        with transaction.atomic():
            if CustodialKey.objects.filter(pubkey=key.pubkey).exists():
                raise Conflict(f"the node already keeps {nip19.npub_encode(key.pubkey)}")
            CustodialKey.objects.create(
                pubkey=key.pubkey, label=label, purpose=purpose, sealed=sealed
            )
    except IntegrityError as exc:
        raise Conflict(f"there is already a {purpose} key") from exc
    return KeyInfo(key.pubkey, label, purpose)


def load(pubkey: str) -> SecretKey:
    try:
        row = CustodialKey.objects.get(pubkey=pubkey)
    except CustodialKey.DoesNotExist as exc:
        raise NotFound(f"the node keeps no key for {pubkey[:12]}…") from exc
    return vault().open(row.pubkey, bytes(row.sealed))


def load_purpose(purpose: str) -> SecretKey:
    row = CustodialKey.objects.filter(purpose=purpose).first()
    if row is None:
        raise NotFound(f"the node keeps no {purpose} key (run `minga init`)")
    return vault().open(row.pubkey, bytes(row.sealed))


def listing() -> list[KeyInfo]:
    return [KeyInfo(r.pubkey, r.label, r.purpose) for r in CustodialKey.objects.all()]


def listing_has(pubkey: str) -> bool:
    return CustodialKey.objects.filter(pubkey=pubkey).exists()

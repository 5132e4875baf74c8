"""BIP-340 Schnorr keys, signing and verification over libsecp256k1 (coincurve)."""

from __future__ import annotations

import secrets
import time
from functools import lru_cache

from coincurve import PrivateKey, PublicKeyXOnly

from minga.events.event import Event, Tag, compute_id
from minga.exceptions import InvalidKey


@lru_cache(maxsize=65536)
def _xonly(pubkey_hex: str) -> PublicKeyXOnly:
    # Parsing a point costs about a sixth of a verification; authors repeat.
    return PublicKeyXOnly(bytes.fromhex(pubkey_hex))


def verify_signature(event: Event) -> bool:
    """True when ``sig`` is a valid BIP-340 signature of ``id`` by ``pubkey``.

    Assumes the id was already checked against the content (see
    :func:`minga.events.validate.parse_event`); a pubkey that is not a curve
    point simply fails.
    """
    try:
        return bool(_xonly(event.pubkey).verify(bytes.fromhex(event.sig), bytes.fromhex(event.id)))
    except ValueError:
        return False


def verify_raw(pubkey_hex: str, sig_hex: str, message: bytes) -> bool:
    """Bare verification of a 32-byte message (the reference in bench/ingest.py)."""
    try:
        return bool(_xonly(pubkey_hex).verify(bytes.fromhex(sig_hex), message))
    except ValueError:
        return False


class SecretKey:
    """A secp256k1 secret key. ``repr`` never shows the secret."""

    __slots__ = ("_key", "pubkey")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise InvalidKey("a secret key is 32 bytes")
        try:
            self._key = PrivateKey(secret)
        except ValueError as exc:
            raise InvalidKey("not a valid secp256k1 secret key") from exc
        self.pubkey: str = self._key.public_key_xonly.format().hex()

    @classmethod
    def generate(cls) -> SecretKey:
        while True:
            try:
                return cls(secrets.token_bytes(32))
            except InvalidKey:  # astronomically unlikely: zero or >= curve order
                continue

    @classmethod
    def from_hex(cls, text: str) -> SecretKey:
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidKey("a hex secret key is 64 hexadecimal characters") from exc
        return cls(raw)

    def secret_bytes(self) -> bytes:
        return bytes(self._key.secret)

    def hex(self) -> str:
        return self.secret_bytes().hex()

    def sign_digest(self, digest: bytes) -> bytes:
        return bytes(self._key.sign_schnorr(digest, secrets.token_bytes(32)))

    def sign_digest_with(self, digest: bytes, aux: bytes) -> bytes:
        """BIP-340 with chosen auxiliary data: the same input signs to the same bytes."""
        return bytes(self._key.sign_schnorr(digest, aux))

    def __repr__(self) -> str:
        return f"SecretKey(pubkey={self.pubkey})"


def sign_event(
    key: SecretKey,
    kind: int,
    content: str = "",
    tags: list[Tag] | None = None,
    created_at: int | None = None,
) -> Event:
    """Build and sign a new event."""
    tags = [list(t) for t in (tags or [])]
    created = int(time.time()) if created_at is None else created_at
    event_id = compute_id(key.pubkey, created, kind, tags, content)
    sig = key.sign_digest(bytes.fromhex(event_id)).hex()
    return Event(event_id, key.pubkey, created, kind, tags, content, sig)

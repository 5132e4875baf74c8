"""Custodial keys sealed at rest with XChaCha20-Poly1305 (libsodium).

The 32-byte vault key comes from ``MINGA_VAULT_KEY`` or
``<data_dir>/secrets/vault.key``. Each sealed secret is bound to its public key
through the AEAD's associated data, so a row copied onto another key's record
does not open.
"""

from __future__ import annotations

import secrets

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from minga.events.signing import SecretKey
from minga.exceptions import KeyVaultError

_VERSION = b"\x01"


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise KeyVaultError("the vault key is 32 bytes")
        self._master = master_key

    def seal(self, key: SecretKey) -> bytes:
        nonce = secrets.token_bytes(24)
        ad = _VERSION + bytes.fromhex(key.pubkey)
        box = crypto_aead_xchacha20poly1305_ietf_encrypt(
            key.secret_bytes(), ad, nonce, self._master
        )
        return _VERSION + nonce + box

    def open(self, pubkey: str, sealed: bytes) -> SecretKey:
        if len(sealed) != 1 + 24 + 48 or sealed[:1] != _VERSION:
            raise KeyVaultError(f"sealed key for {pubkey[:12]}… has an unknown format")
        ad = _VERSION + bytes.fromhex(pubkey)
        try:
            secret = crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed[25:], ad, sealed[1:25], self._master
            )
        except CryptoError as exc:
            raise KeyVaultError(
                f"cannot open the key of {pubkey[:12]}…: wrong vault key or altered record"
            ) from exc
        key = SecretKey(bytes(secret))
        if key.pubkey != pubkey:
            raise KeyVaultError(f"sealed key does not belong to {pubkey[:12]}…")
        return key

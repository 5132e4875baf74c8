"""NIP-49 private key encryption (ncryptsec): scrypt + XChaCha20-Poly1305.

The AEAD and the KDF come from libsodium (PyNaCl) and OpenSSL (hashlib); this
module only lays out the bytes that NIP-49 defines:
``version(0x02) | log_n | salt(16) | nonce(24) | key_security(1) | ciphertext(48)``.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from minga.exceptions import InvalidKey
from minga.keys.nip19 import bech32_decode, bech32_encode

VERSION = 0x02
KEY_INSECURE = 0x00  # the key was handled insecurely before encryption
KEY_SECURE = 0x01  # the key never left secure hands
KEY_UNKNOWN = 0x02
MAX_LOG_N = 22  # 4 GiB of scrypt memory; higher is refused rather than attempted


def _derive(password: str, salt: bytes, log_n: int) -> bytes:
    if not 1 <= log_n <= MAX_LOG_N:
        raise InvalidKey(f"ncryptsec log_n {log_n} is outside 1..{MAX_LOG_N}")
    pw = unicodedata.normalize("NFKC", password).encode("utf-8")
    return hashlib.scrypt(
        pw, salt=salt, n=1 << log_n, r=8, p=1, dklen=32, maxmem=(128 * 8 << log_n) + (1 << 20)
    )


def encrypt(secret: bytes, password: str, log_n: int = 16, key_security: int = KEY_UNKNOWN) -> str:
    if len(secret) != 32:
        raise InvalidKey("a secret key is 32 bytes")
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(24)
    ad = bytes([key_security])
    key = _derive(password, salt, log_n)
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(secret, ad, nonce, key)
    return bech32_encode("ncryptsec", bytes([VERSION, log_n]) + salt + nonce + ad + ciphertext)


def decrypt(text: str, password: str) -> bytes:
    hrp, raw = bech32_decode(text.strip())
    if hrp != "ncryptsec":
        raise InvalidKey(f"expected ncryptsec1…, got {hrp}1…")
    if len(raw) != 91:
        raise InvalidKey("ncryptsec payload has the wrong length")
    if raw[0] != VERSION:
        raise InvalidKey(f"ncryptsec version {raw[0]} is not supported")
    log_n, salt, nonce, ad, ciphertext = raw[1], raw[2:18], raw[18:42], raw[42:43], raw[43:]
    key = _derive(password, salt, log_n)
    try:
        return bytes(crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, ad, nonce, key))
    except CryptoError as exc:
        raise InvalidKey("wrong password, or the ncryptsec was altered") from exc

"""NIP-44 version 2 payload encryption (secp256k1 ECDH, HKDF, ChaCha20, HMAC-SHA256).

The primitives come from libsecp256k1 (coincurve) and OpenSSL (cryptography);
this module only arranges them as NIP-44 v2 specifies: conversation key by
HKDF-extract of the unhashed shared x coordinate, per-message keys by
HKDF-expand of a random nonce, power-of-two padding, MAC over nonce and
ciphertext, base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

from coincurve import PrivateKey, PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from minga.exceptions import InvalidInput

VERSION = 2
MIN_PLAINTEXT = 1
MAX_PLAINTEXT = 0xFFFFFFFF
EXTENDED = 65536
MAX_PAYLOAD = 4 * 1024 * 1024  # minga's own bound: refused before decoding base64
_SALT = b"nip44-v2"


class Nip44Error(InvalidInput):
    """A payload that cannot be decrypted, or a plaintext that cannot be encrypted."""


def _hkdf_extract(ikm: bytes, salt: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def conversation_key(secret: bytes, pubkey_hex: str) -> bytes:
    """``conv(a, B) == conv(b, A)``: HKDF-extract of the x coordinate of a·B."""
    try:
        point = PublicKey(b"\x02" + bytes.fromhex(pubkey_hex))
        shared = point.multiply(PrivateKey(secret).secret).format(compressed=True)[1:]
    except ValueError as exc:
        raise Nip44Error("not a valid key pair for NIP-44") from exc
    return _hkdf_extract(shared, _SALT)


def message_keys(conv_key: bytes, nonce: bytes) -> tuple[bytes, bytes, bytes]:
    if len(conv_key) != 32 or len(nonce) != 32:
        raise Nip44Error("conversation key and nonce are 32 bytes")
    keys = _hkdf_expand(conv_key, nonce, 76)
    return keys[0:32], keys[32:44], keys[44:76]


def padded_length(length: int) -> int:
    if length <= 32:
        return 32
    next_power = 1 << ((length - 1).bit_length())
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((length - 1) // chunk + 1)


def _pad(plaintext: str) -> bytes:
    data = plaintext.encode("utf-8")
    if not MIN_PLAINTEXT <= len(data) <= MAX_PLAINTEXT:
        raise Nip44Error("NIP-44 plaintexts are 1 byte to 4 GiB")
    prefix = (
        b"\x00\x00" + struct.pack(">I", len(data))
        if len(data) >= EXTENDED
        else struct.pack(">H", len(data))
    )
    return prefix + data + bytes(padded_length(len(data)) - len(data))


def _unpad(padded: bytes) -> str:
    (first,) = struct.unpack(">H", padded[:2])
    if first == 0:
        (length,) = struct.unpack(">I", padded[2:6])
        if length < EXTENDED:
            raise Nip44Error("invalid padding")
        prefix = 6
    else:
        length, prefix = first, 2
    data = padded[prefix : prefix + length]
    if length == 0 or len(data) != length or len(padded) != prefix + padded_length(length):
        raise Nip44Error("invalid padding")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Nip44Error("the plaintext is not UTF-8") from exc


def _chacha20(key: bytes, nonce12: bytes, data: bytes) -> bytes:
    # RFC 8439 ChaCha20 with a zero counter: OpenSSL takes counter || nonce.
    cipher = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None)
    return cipher.encryptor().update(data)


def encrypt(plaintext: str, conv_key: bytes, nonce: bytes | None = None) -> str:
    nonce = secrets.token_bytes(32) if nonce is None else nonce
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    ciphertext = _chacha20(chacha_key, chacha_nonce, _pad(plaintext))
    mac = hmac.new(hmac_key, nonce + ciphertext, hashlib.sha256).digest()
    return base64.b64encode(bytes([VERSION]) + nonce + ciphertext + mac).decode("ascii")


def decrypt(payload: str, conv_key: bytes) -> str:
    if not payload or payload[0] == "#":
        raise Nip44Error("unknown NIP-44 version")
    if not 132 <= len(payload) <= MAX_PAYLOAD:
        raise Nip44Error("invalid NIP-44 payload size")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Nip44Error("the NIP-44 payload is not base64") from exc
    if len(data) < 99:
        raise Nip44Error("invalid NIP-44 data size")
    if data[0] != VERSION:
        raise Nip44Error(f"unknown NIP-44 version {data[0]}")
    nonce, ciphertext, mac = data[1:33], data[33:-32], data[-32:]
    chacha_key, chacha_nonce, hmac_key = message_keys(conv_key, nonce)
    expected = hmac.new(hmac_key, nonce + ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise Nip44Error("invalid MAC: the payload was altered or is for someone else")
    return _unpad(_chacha20(chacha_key, chacha_nonce, ciphertext))

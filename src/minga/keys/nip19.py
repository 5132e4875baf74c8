"""NIP-19 bare keys and ids in bech32 (BIP-173): npub, nsec, note."""

from __future__ import annotations

from minga.exceptions import InvalidKey

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_MAX_LENGTH = 1023  # NIP-19 allows longer strings than BIP-173's 90 (ncryptsec needs it)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _GEN[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise InvalidKey("bech32 data out of range")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise InvalidKey("bech32 padding is not valid")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    five = _convertbits(data, 8, 5, pad=True)
    values = _hrp_expand(hrp) + five
    polymod = _polymod([*values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in five + checksum)


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32 string into (human-readable part, bytes)."""
    if len(text) > _MAX_LENGTH:
        raise InvalidKey("bech32 string is too long")
    if text.lower() != text and text.upper() != text:
        raise InvalidKey("bech32 string mixes upper and lower case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise InvalidKey("not a bech32 string")
    hrp, rest = text[:pos], text[pos + 1 :]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp) or any(c not in _CHARSET for c in rest):
        raise InvalidKey("bech32 string has characters outside its alphabet")
    data = [_CHARSET.index(c) for c in rest]
    if _polymod(_hrp_expand(hrp) + data) != 1:
        raise InvalidKey("bech32 checksum does not match (a typo?)")
    return hrp, bytes(_convertbits(data[:-6], 5, 8, pad=False))


def _encode32(hrp: str, hex_value: str) -> str:
    raw = bytes.fromhex(hex_value)
    if len(raw) != 32:
        raise InvalidKey(f"{hrp} holds 32 bytes")
    return bech32_encode(hrp, raw)


def _decode32(expected: str, text: str) -> str:
    hrp, raw = bech32_decode(text.strip())
    if hrp != expected:
        raise InvalidKey(f"expected {expected}1…, got {hrp}1…")
    if len(raw) != 32:
        raise InvalidKey(f"{hrp} holds 32 bytes, not {len(raw)}")
    return raw.hex()


def npub_encode(pubkey_hex: str) -> str:
    return _encode32("npub", pubkey_hex)


def npub_decode(text: str) -> str:
    return _decode32("npub", text)


def nsec_encode(secret_hex: str) -> str:
    return _encode32("nsec", secret_hex)


def nsec_decode(text: str) -> str:
    return _decode32("nsec", text)


def note_encode(event_id: str) -> str:
    return _encode32("note", event_id)


def parse_pubkey(text: str) -> str:
    """A public key given as npub… or 64 hex characters, as lowercase hex."""
    text = text.strip()
    if text.startswith("npub1"):
        return npub_decode(text)
    lowered = text.lower()
    if len(lowered) == 64 and all(c in "0123456789abcdef" for c in lowered):
        return lowered
    raise InvalidKey("a public key is npub1… or 64 hexadecimal characters")


def naddr_encode(kind: int, pubkey_hex: str, identifier: str, relays: tuple[str, ...] = ()) -> str:
    """NIP-19 ``naddr``: TLV of the ``d`` identifier (0), relays (1), author (2), kind (3)."""
    author = bytes.fromhex(pubkey_hex)
    if len(author) != 32:
        raise InvalidKey("naddr author holds 32 bytes")
    tlv = bytearray()
    for kind_byte, value in (
        (0, identifier.encode("utf-8")),
        *((1, relay.encode("utf-8")) for relay in relays),
        (2, author),
        (3, kind.to_bytes(4, "big")),
    ):
        if len(value) > 255:
            raise InvalidKey("an naddr field is at most 255 bytes")
        tlv += bytes((kind_byte, len(value))) + value
    return bech32_encode("naddr", bytes(tlv))

"""NIP-19 and NIP-49 key formats, checked against nostr-sdk and the NIP's vector."""

from __future__ import annotations

import nostr_sdk as sdk
import pytest

from minga.events import SecretKey
from minga.exceptions import InvalidKey
from minga.keys import nip19, nip49


def test_npub_and_nsec_match_nostr_sdk():
    theirs = sdk.Keys.generate()
    secret_hex = theirs.secret_key().to_hex()
    ours = SecretKey.from_hex(secret_hex)
    assert nip19.nsec_encode(secret_hex) == theirs.secret_key().to_bech32()
    assert nip19.npub_encode(ours.pubkey) == theirs.public_key().to_bech32()
    assert nip19.nsec_decode(theirs.secret_key().to_bech32()) == secret_hex
    assert nip19.npub_decode(theirs.public_key().to_bech32()) == ours.pubkey


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("npub1", "not a bech32 string"),
        ("nsec1qqqqqqqqqqqq", "checksum"),
        ("NPUB1ABC", "not a bech32"),
        ("Npub1xyz", "mixes upper and lower"),
    ],
)
def test_bad_bech32(text, message):
    with pytest.raises(InvalidKey, match=message):
        nip19.npub_decode(text)


def test_a_typo_is_caught_by_the_checksum():
    npub = nip19.npub_encode(SecretKey.generate().pubkey)
    typo = npub[:-1] + ("q" if npub[-1] != "q" else "p")
    with pytest.raises(InvalidKey, match="checksum"):
        nip19.npub_decode(typo)


def test_wrong_prefix():
    nsec = nip19.nsec_encode(SecretKey.generate().hex())
    with pytest.raises(InvalidKey, match="expected npub1"):
        nip19.npub_decode(nsec)


def test_parse_pubkey_takes_npub_or_hex():
    key = SecretKey.generate()
    assert nip19.parse_pubkey(nip19.npub_encode(key.pubkey)) == key.pubkey
    assert nip19.parse_pubkey(key.pubkey.upper()) == key.pubkey
    with pytest.raises(InvalidKey):
        nip19.parse_pubkey("nope")


def test_nip49_vector_from_the_spec():
    text = (
        "ncryptsec1qgg9947rlpvqu76pj5ecreduf9jxhselq2nae2kghhvd5g7dgjtcxfqtd67p9m0w57lspw8gsq6yphnm8"
        "623nsl8xn9j4jdzz84zm3frztj3z7s35vpzmqf6ksu8r89qk5z2zxfmu5gv8th8wclt0h4p"
    )
    assert nip49.decrypt(text, "nostr").hex() == (
        "3501454135014541350145413501453fefb02227e449e57cf4d3a3ce05378683"
    )


def test_nip49_round_trips_with_nostr_sdk():
    ours = SecretKey.generate()
    encrypted = nip49.encrypt(ours.secret_bytes(), "contraseña ñ", log_n=16)
    theirs = sdk.EncryptedSecretKey.from_bech32(encrypted).decrypt("contraseña ñ")
    assert theirs.to_hex() == ours.hex()
    made_by_sdk = sdk.SecretKey.generate()
    text = made_by_sdk.encrypt("clave").to_bech32()
    assert nip49.decrypt(text, "clave").hex() == made_by_sdk.to_hex()


def test_nip49_wrong_password_and_tampering():
    text = nip49.encrypt(SecretKey.generate().secret_bytes(), "buena", log_n=14)
    with pytest.raises(InvalidKey, match="wrong password"):
        nip49.decrypt(text, "mala")
    hrp, raw = nip19.bech32_decode(text)
    tampered = nip19.bech32_encode(hrp, raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(InvalidKey, match="wrong password, or the ncryptsec was altered"):
        nip49.decrypt(tampered, "buena")


def test_nip49_refuses_absurd_work_factors():
    text = nip49.encrypt(SecretKey.generate().secret_bytes(), "x", log_n=14)
    hrp, raw = nip19.bech32_decode(text)
    hostile = nip19.bech32_encode(hrp, raw[:1] + bytes([40]) + raw[2:])
    with pytest.raises(InvalidKey, match="log_n"):
        nip49.decrypt(hostile, "x")

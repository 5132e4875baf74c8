from __future__ import annotations

import pytest

from minga.events import SecretKey
from minga.exceptions import Conflict, InvalidKey, KeyVaultError
from minga.keys import custody, nip19, nip49
from minga.keys.models import CustodialKey
from minga.keys.vault import Vault

pytestmark = pytest.mark.django_db


def test_sealed_keys_open_only_with_the_vault_key_and_for_their_pubkey():
    key = SecretKey.generate()
    vault = Vault(b"\x01" * 32)
    sealed = vault.seal(key)
    assert key.secret_bytes() not in sealed
    assert vault.open(key.pubkey, sealed).hex() == key.hex()
    with pytest.raises(KeyVaultError, match="wrong vault key"):
        Vault(b"\x02" * 32).open(key.pubkey, sealed)
    with pytest.raises(KeyVaultError):
        vault.open(SecretKey.generate().pubkey, sealed)  # moved onto another record
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyVaultError):
        vault.open(key.pubkey, tampered)


def test_keep_and_load_through_the_store():
    key = SecretKey.generate()
    info = custody.keep(key, "Rosa")
    assert info.npub == nip19.npub_encode(key.pubkey)
    row = CustodialKey.objects.get(pubkey=key.pubkey)
    assert key.secret_bytes() not in bytes(row.sealed)
    assert custody.load(key.pubkey).hex() == key.hex()
    with pytest.raises(Conflict):
        custody.keep(key, "otra vez")


def test_only_one_node_key():
    custody.keep(SecretKey.generate(), "nodo", "node")
    with pytest.raises(Conflict, match="already a node key"):
        custody.keep(SecretKey.generate(), "otro nodo", "node")


def test_parse_secret_in_every_form():
    key = SecretKey.generate()
    assert custody.parse_secret(key.hex()).pubkey == key.pubkey
    assert custody.parse_secret(nip19.nsec_encode(key.hex())).pubkey == key.pubkey
    text = nip49.encrypt(key.secret_bytes(), "pw", log_n=14)
    assert custody.parse_secret(text, "pw").pubkey == key.pubkey
    with pytest.raises(InvalidKey, match="needs its password"):
        custody.parse_secret(text)
    with pytest.raises(InvalidKey):
        custody.parse_secret("npub1whatever")
    with pytest.raises(InvalidKey):
        custody.parse_secret("00" * 32)  # zero is not a valid secret key

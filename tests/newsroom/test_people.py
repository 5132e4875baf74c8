from __future__ import annotations

import time

import pytest

from minga.exceptions import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from minga.newsroom import people, throttle
from minga.newsroom.membership import current
from minga.newsroom.models import Invitation, Person
from tests import sdk

pytestmark = pytest.mark.django_db

PASSWORD = "una clave larga de prueba"


@pytest.fixture
def admin(newsroom, django_user_model):
    return django_user_model.objects.create_superuser("admin", password=PASSWORD)


def test_invitation_to_custodial_account(admin):
    invitation, token = people.invite(admin, "Rosa Quispe", "reporter")
    assert invitation.token_hash != token  # only the hash is stored
    person = people.accept(token, "rosa", PASSWORD, "custodial")
    assert person.role == "reporter"
    assert person.user.check_password(PASSWORD)
    assert person.user.password.startswith("argon2")
    assert current().role(person.pubkey) == "reporter"
    from minga.keys import custody

    assert custody.load(person.pubkey).pubkey == person.pubkey
    with pytest.raises(Forbidden, match="already used"):
        people.accept(token, "otra", PASSWORD, "custodial")


def test_invitation_with_own_key_needs_its_signature(admin):
    _, token = people.invite(admin, "Teo", "editor")
    keys = sdk.keys()
    with pytest.raises(InvalidInput, match="sign the statement"):
        people.accept(token, "teo", PASSWORD, "nip07")
    wrong = sdk.event(keys, people.PROOF_KIND, "otra cosa")
    with pytest.raises(InvalidInput, match="not the one this invitation asked for"):
        people.accept(token, "teo", PASSWORD, "nip07", wrong)
    old = sdk.event(
        keys, people.PROOF_KIND, people.proof_challenge(token), created_at=int(time.time()) - 3600
    )
    with pytest.raises(InvalidInput, match="too old"):
        people.accept(token, "teo", PASSWORD, "nip07", old)
    forged = sdk.event(keys, people.PROOF_KIND, people.proof_challenge(token))
    forged["content"] = forged["content"] + "x"
    with pytest.raises(InvalidInput, match="could not be checked"):
        people.accept(token, "teo", PASSWORD, "nip07", forged)
    proof = sdk.event(keys, people.PROOF_KIND, people.proof_challenge(token))
    person = people.accept(token, "teo", PASSWORD, "nip07", proof)
    assert person.pubkey == keys.public_key().to_hex()
    assert person.custody == "nip07"
    assert current().role(person.pubkey) == "editor"


def test_bad_invitations(admin):
    with pytest.raises(NotFound):
        people.open_invitation("inventado")
    invitation, token = people.invite(admin, "Lu", "contributor", hours=1)
    Invitation.objects.filter(pk=invitation.pk).update(expires=invitation.created)
    with pytest.raises(Forbidden, match="expired"):
        people.accept(token, "lu", PASSWORD, "custodial")
    with pytest.raises(InvalidInput, match="role"):
        people.invite(admin, "X", "jefe")


def test_passwords_and_names_are_checked(admin):
    _, token = people.invite(admin, "Ana", "reporter")
    with pytest.raises(InvalidInput):
        people.accept(token, "ana", "123", "custodial")
    people.create_person("ocupado", PASSWORD, "Ocupado", "reporter")
    with pytest.raises(Conflict, match="taken"):
        people.accept(token, "Ocupado", PASSWORD, "custodial")
    assert not Person.objects.filter(name="Ana").exists()


def test_deactivation_revokes_the_key(admin):
    person = people.create_person("rosa", PASSWORD, "Rosa", "reporter")
    people.deactivate(person, admin, reason="teléfono incautado")
    person.refresh_from_db()
    assert not person.user.is_active
    roster = current()
    assert roster.role(person.pubkey) is None
    assert roster.refusal(person.pubkey, int(time.time()) + 5).startswith("blocked:")


def test_login_throttling(newsroom):
    for _ in range(throttle.PER_ACCOUNT):
        throttle.check("rosa", "10.0.0.1")
        throttle.failed("rosa", "10.0.0.1")
    with pytest.raises(RateLimited):
        throttle.check("rosa", "10.0.0.1")
    with pytest.raises(RateLimited):
        throttle.check("ROSA ", "10.0.0.1")
    throttle.check("rosa", "10.0.0.2")  # another address is not locked
    for n in range(throttle.PER_ADDRESS):
        throttle.failed(f"u{n}", "10.0.0.3")
    with pytest.raises(RateLimited):
        throttle.check("nadie", "10.0.0.3")

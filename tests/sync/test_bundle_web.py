"""The desk's bundle page: editors upload parts, others may not, hostile files change nothing."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from minga import config as minga_config
from minga.events import sign_event
from minga.newsroom import people
from tests.sync.bundles import media_event, sha256, snapshot, write_bundle

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "una clave larga de prueba"


@pytest.fixture
def team(newsroom):
    return {
        "editor": people.create_person("lucia", PASSWORD, "Lucía", "editor"),
        "reporter": people.create_person("rosa", PASSWORD, "Rosa", "reporter"),
    }


def signed_in(person, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(person.user)
    return client


@pytest.fixture
def parts(newsroom, tmp_path):
    reporter = newsroom.member()
    data = os.urandom(1_200_000)
    photo = media_event(reporter, sha256(data), len(data))
    events = [sign_event(reporter, 1, f"nota {n}") for n in range(10)] + [photo]
    return write_bundle(tmp_path / "b.minga", events, {sha256(data): (data, photo.id)}, 1 << 20)


def upload(client: Client, *paths):
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]
    return client.post("/desk/bundles/", {"parts": files})


def test_an_editor_uploads_parts_in_two_goes(team, parts):
    client = signed_in(team["editor"])
    page = client.get("/desk/bundles/")
    assert page.status_code == 200
    assert 'name="parts"' in page.content.decode()
    assert len(parts) == 2
    first = upload(client, parts[1])
    text = first.content.decode()
    assert first.status_code == 200
    assert "Parts still missing: 1" in text
    second = upload(client, parts[0])
    text = second.content.decode()
    assert "11 events stored" in text
    assert "1 blobs stored" in text
    assert "The bundle is complete on this node." in text
    again = upload(client, *parts).content.decode()
    assert "Parts imported before (skipped): 1, 2" in again
    # The uploaded files do not stay behind.
    assert not list((settings.MINGA.data_path / "bundles" / "uploads").glob("*"))


def test_the_page_speaks_spanish(team, parts):
    client = signed_in(team["editor"], "es")
    text = upload(client, *parts).content.decode()
    assert "11 eventos guardados" in text
    assert "El paquete está completo en este nodo." in text


def test_a_reporter_may_not_import(team, parts):
    client = signed_in(team["reporter"])
    before = snapshot()
    assert client.get("/desk/bundles/").status_code == 403
    assert upload(client, *parts).status_code == 403
    assert snapshot() == before
    anonymous = Client().post("/desk/bundles/", {})
    assert anonymous.status_code == 302


def test_a_hostile_upload_is_refused_and_changes_nothing(team, parts):
    client = signed_in(team["editor"])
    data = bytearray(parts[0].read_bytes())
    data[len(data) // 2] ^= 0x55
    before = snapshot()
    answer = client.post("/desk/bundles/", {"parts": [SimpleUploadedFile("x.minga", bytes(data))]})
    assert answer.status_code == 400
    assert "The bundle was refused" in answer.content.decode()
    assert snapshot() == before


def test_uploads_over_the_limit_are_refused(team, parts, settings):
    settings.MINGA = minga_config.load({"max_bundle_upload_bytes": 1000})
    client = signed_in(team["editor"])
    before = snapshot()
    answer = upload(client, parts[0])
    assert answer.status_code == 413
    assert "larger than 1,000 bytes" in answer.content.decode()
    assert snapshot() == before


def test_csrf_is_checked(team, parts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["editor"].user)
    answer = client.post(
        "/desk/bundles/", {"parts": [SimpleUploadedFile("b.minga", parts[0].read_bytes())]}
    )
    assert answer.status_code == 403

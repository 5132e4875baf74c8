from __future__ import annotations

import pytest

from minga.events import sign_event
from minga.store.ingest import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(newsroom):
    reporter = newsroom.member()
    dispatch = sign_event(
        reporter,
        30023,
        "La policía cerró tres cuadras.\n<script>alert(1)</script>",
        [["d", "d1"], ["title", "Gases en la plaza"], ["l", "es", "ISO-639-1"], ["t", "paro"]],
    )
    draft = sign_event(
        reporter, 30024, "borrador secreto", [["d", "x"], ["title", "Borrador secreto"]]
    )
    unpublished = sign_event(reporter, 30023, "aún no", [["d", "d2"], ["title", "Sin publicar"]])
    ingest([dispatch, draft, unpublished])
    from minga.newsroom import workflow

    workflow.publish(dispatch.address, None)
    return dispatch


def test_home_lists_public_events_in_spanish(client, filed):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Lo último de la redacción" in text
    assert "Gases en la plaza" in text
    assert "Despacho" in text
    assert "#paro" in text
    assert "Borrador secreto" not in text  # drafts are private
    assert "Sin publicar" not in text  # filed, not yet published by the desk
    assert "Sin publicar" not in text  # filed, not yet published by the desk
    assert "<script>alert(1)</script>" not in text  # escaped
    assert "UTC" in text


def test_home_in_english(client, filed):
    text = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Latest from the newsroom" in text
    assert "Dispatch" in text


def test_language_switch(client, filed):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Latest from the newsroom" in client.get("/").content.decode()


def test_security_headers(client, filed):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_admin_login_and_events_in_admin(client, newsroom, django_user_model):
    django_user_model.objects.create_superuser("ana", password="una-clave-larga-2026")
    assert client.get("/admin/").status_code == 302
    assert client.login(username="ana", password="una-clave-larga-2026")
    assert client.get("/admin/").status_code == 200
    events = client.get("/admin/store/storedevent/")
    assert events.status_code == 200
    keys = client.get("/admin/keys/custodialkey/").content.decode()
    assert "Prueba" in keys  # the outlet key, by label
    assert "sealed" not in keys


def test_forged_post_is_refused(newsroom):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/i18n/setlang/", {"language": "en"}).status_code == 403


def test_health(client, filed):
    assert client.get("/healthz").json()["ok"] is True

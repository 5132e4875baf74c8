"""The newsroom's pages and endpoints as a browser (or an attacker) uses them."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client

from minga.newsroom import people
from minga.newsroom.models import AuditEntry, Invitation, Person, State, Story
from minga.store.query import latest

PASSWORD = "una clave larga de prueba"


@pytest.fixture
def team(newsroom):
    return {
        "admin": people.create_person("ana", PASSWORD, "Ana", "admin"),
        "editor": people.create_person("lucia", PASSWORD, "Lucía", "editor"),
        "reporter": people.create_person("rosa", PASSWORD, "Rosa", "reporter"),
    }


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def file(client, **fields):
    data = {
        "client_id": str(uuid.uuid4()),
        "kind": "dispatch",
        "title": "Título",
        "body": "Cuerpo",
        "language": "es",
        "place": "Lima",
        "hashtags": ["paro"],
        "filed_at": int(time.time()),
        **fields,
    }
    return client.post("/r/file", json.dumps(data), content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_login_is_throttled(team):
    client = Client()
    for _ in range(5):
        answer = client.post("/login/", {"username": "rosa", "password": "mal"})
        assert answer.status_code == 200
        assert "do not match" in answer.content.decode()
    locked = client.post("/login/", {"username": "rosa", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()


@pytest.mark.django_db(transaction=True)
def test_each_role_lands_where_its_work_is(team):
    client = Client()
    answer = client.post("/login/", {"username": "rosa", "password": PASSWORD}, follow=True)
    assert answer.redirect_chain[-1][0] == "/r/"
    editor = Client()
    answer = editor.post("/login/", {"username": "lucia", "password": PASSWORD}, follow=True)
    assert answer.redirect_chain[-1][0] == "/desk/"


@pytest.mark.django_db(transaction=True)
def test_join_by_invitation_in_the_browser(team):
    _invitation, token = people.invite(team["admin"].user, "Teo", "reporter")
    client = Client()
    page = client.get(f"/join/{token}/", HTTP_ACCEPT_LANGUAGE="es")
    assert "Bienvenida/o, Teo" in page.content.decode()
    answer = client.post(
        f"/join/{token}/",
        {"username": "teo", "password": PASSWORD, "key": "custodial"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == "/r/"
    assert Person.objects.get(name="Teo").role == "reporter"
    assert Client().get(f"/join/{token}/").status_code == 403  # used


@pytest.mark.django_db(transaction=True)
def test_filing_signs_stores_and_is_idempotent(team):
    client = signed_in(team["reporter"])
    client_id = str(uuid.uuid4())
    filed_at = int(time.time()) - 3600  # written offline an hour ago
    first = file(client, client_id=client_id, filed_at=filed_at)
    assert first.status_code == 201, first.content
    again = file(client, client_id=client_id, filed_at=filed_at)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    event = latest(first.json()["key"])
    assert event.pubkey == team["reporter"].pubkey
    assert ["title", "Título"] in event.tags
    assert ["l", "es", "ISO-639-1"] in event.tags
    assert ["location", "Lima"] in event.tags
    assert ["t", "paro"] in event.tags
    assert event.created_at == filed_at
    assert Story.objects.get(key=first.json()["key"]).state == State.FILED


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"kind": "video"}, 400, "kind must be"),
        ({"title": ""}, 400, "needs a title"),
        ({"title": "x" * 301}, 413, "longer than 300"),
        ({"body": 5}, 400, "must be text"),
        ({"client_id": "no-uuid"}, 400, "UUID"),
        ({"hashtags": ["<script>"]}, 400, "not a hashtag"),
        ({"language": "klingon"}, 400, "language must be"),
        ({"media": ["0" * 32]}, 400, "not yours or does not exist"),
        ({"filed_at": "ayer"}, 400, "unix time"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_bad_items_are_refused_and_nothing_is_stored(team, fields, status, message):
    client = signed_in(team["reporter"])
    answer = file(client, **fields)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    assert not Story.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_oversized_and_broken_bodies(team):
    client = signed_in(team["reporter"])
    huge = client.post("/r/file", "x" * 500_000, content_type="application/json")
    assert huge.status_code == 413
    broken = client.post("/r/file", "{nope", content_type="application/json")
    assert broken.status_code == 400
    listed = client.post("/r/file", "[1, 2]", content_type="application/json")
    assert listed.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_forged_posts_are_refused(team):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team["reporter"].user)
    answer = strict.post(
        "/r/file", json.dumps({"kind": "note", "body": "x"}), content_type="application/json"
    )
    assert answer.status_code == 403
    assert not Story.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_reporter_cannot_do_the_desks_work(team):
    reporter = signed_in(team["reporter"])
    key = file(reporter).json()["key"]
    story = Story.objects.get(key=key)
    assert reporter.get("/desk/").status_code == 403
    refused = reporter.post(f"/desk/story/{story.pk}/publish")
    assert refused.status_code == 403
    assert Story.objects.get(pk=story.pk).state == State.FILED
    assert reporter.get("/people/").status_code == 403
    assert Client().post(f"/desk/story/{story.pk}/publish").status_code == 302  # to sign in


@pytest.mark.django_db(transaction=True)
def test_desk_publishes_and_retracts(team):
    key = file(signed_in(team["reporter"]), title="Gases en la plaza").json()["key"]
    story = Story.objects.get(key=key)
    desk = signed_in(team["editor"])
    timeline = desk.get("/desk/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Gases en la plaza" in timeline
    assert "Enviado" in timeline
    desk.post(f"/desk/story/{story.pk}/approve")
    desk.post(f"/desk/story/{story.pk}/publish")
    page = desk.get(f"/desk/story/{story.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Published · #0" in page
    refused = desk.post(f"/desk/story/{story.pk}/retract", {"note": ""}, follow=True)
    assert "needs a public note" in refused.content.decode()
    desk.post(f"/desk/story/{story.pk}/retract", {"note": "No se pudo confirmar"})
    story.refresh_from_db()
    assert story.state == State.RETRACTED
    assert AuditEntry.objects.filter(
        target=key, action="retract", actor=team["editor"].user
    ).exists()
    page = desk.get(f"/desk/story/{story.pk}/").content.decode()
    assert "No se pudo confirmar" in page


@pytest.mark.django_db(transaction=True)
def test_desk_filters(team):
    reporter = signed_in(team["reporter"])
    file(reporter, title="En Lima", place="Lima")
    file(reporter, title="En Puno", place="Puno", language="en")
    desk = signed_in(team["editor"])
    by_place = desk.get("/desk/?place=puno").content.decode()
    assert "En Puno" in by_place
    assert "En Lima" not in by_place
    by_language = desk.get("/desk/?language=en").content.decode()
    assert "En Puno" in by_language
    assert "En Lima" not in by_language
    by_state = desk.get("/desk/?state=published").content.decode()
    assert "En Puno" not in by_state


@pytest.mark.django_db(transaction=True)
def test_markdown_is_sanitised(team):
    client = signed_in(team["reporter"])
    answer = client.post(
        "/r/preview",
        json.dumps(
            {
                "body": "**hola** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
            }
        ),
        content_type="application/json",
    )
    html = answer.json()["html"]
    assert "<strong>hola</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html  # left as plain text, never a link
    assert "<img" not in html  # raw HTML is text, not markup
    assert "&lt;img" in html


@pytest.mark.django_db(transaction=True)
def test_people_page_invites_and_deactivates(team):
    admin = signed_in(team["admin"])
    page = admin.post("/people/", {"name": "Nueva", "role": "contributor"})
    assert "/join/" in page.content.decode()
    assert Invitation.objects.filter(name="Nueva").exists()
    rosa = team["reporter"]
    admin.post(f"/people/{rosa.pk}/deactivate", {"reason": "teléfono incautado"})
    rosa.refresh_from_db()
    assert not rosa.active
    assert signed_in(rosa).get("/r/").status_code == 302  # no longer signed in


@pytest.mark.django_db(transaction=True)
def test_pwa_files(team):
    client = signed_in(team["reporter"])
    manifest = client.get("/r/manifest.webmanifest").json()
    assert manifest["start_url"] == "/r/"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    worker = client.get("/r/sw.js")
    assert worker["Content-Type"] == "application/javascript"
    assert b"const SHELL" in worker.content
    assert b"sopa de quinua" in Client().get("/r/exit").content.lower()

"""The desk's page of paths: what it shows, and who may see it."""

from __future__ import annotations

import time

from django.test import Client

from minga.newsroom import people
from minga.publish.models import JobState
from minga.sync import linkstate
from minga.sync.models import BlobFetch, RelayPost, Role

PASSWORD = "una clave larga de prueba"


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_the_desk_sees_each_path_its_backlog_and_errors(newsroom):
    editor = people.create_person("lucia", PASSWORD, "Lucía", "editor")
    linkstate.ensure(Role.PEER, "ws://10.0.0.2:8000/relay", "ab" * 32)
    linkstate.connected(Role.PEER, "ws://10.0.0.2:8000/relay")
    linkstate.pending(Role.PEER, "ws://10.0.0.2:8000/relay", 7, 3)
    linkstate.failed(Role.OUTBOX, "wss://relay.example", "blocked: not allowed here")
    RelayPost.objects.create(relay="wss://relay.example", event_id="1" * 64)
    RelayPost.objects.create(
        relay="wss://relay.example",
        event_id="2" * 64,
        state=JobState.FAILED,
        last_error="invalid: too big",
    )
    BlobFetch.objects.create(sha256="c" * 64, event_id="3" * 64, last_error="not there (404)")
    page = signed_in(editor).get("/desk/paths/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "ws://10.0.0.2:8000/relay" in html
    assert "connected" in html
    assert ">10<" in html  # 7 to fetch + 3 to send
    assert "wss://relay.example" in html
    assert "blocked: not allowed here" in html
    assert "invalid: too big" in html
    assert "1 failed" in html
    assert "1 blob waiting to be fetched" in html
    # The htmx refresh gets the fragment only.
    fragment = signed_in(editor).get("/desk/paths/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode()
    assert "wss://relay.example" in fragment.content.decode()


def test_silent_paths_stand_out_and_spanish_is_spoken(newsroom):
    editor = people.create_person("lucia", PASSWORD, "Lucía", "editor")
    linkstate.ensure(Role.PEER, "ws://10.0.0.9:8000/relay")
    from minga.sync.models import Link

    Link.objects.update(last_contact=int(time.time()) - 3600)
    html = signed_in(editor).get("/desk/paths/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "silenciosa" in html or "sin contacto" in html


def test_reporters_do_not_see_the_paths(newsroom):
    reporter = people.create_person("rosa", PASSWORD, "Rosa", "reporter")
    page = signed_in(reporter).get("/desk/paths/")
    assert page.status_code in (302, 403)

"""The desk's workflow on real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from minga.events import Filter, SecretKey, sign_event
from minga.exceptions import Conflict, Forbidden, InvalidInput
from minga.newsroom import people, workflow
from minga.newsroom.models import AuditEntry, State, Story
from minga.newsroom.signing import sign_as
from minga.store.ingest import ingest
from minga.store.query import latest, query

PASSWORD = "una clave larga de prueba"


@pytest.fixture
def desk(newsroom, django_user_model):
    editor = people.create_person("editora", PASSWORD, "Editora", "editor")
    reporter = people.create_person("rosa", PASSWORD, "Rosa", "reporter")
    return editor.user, reporter


def file(reporter, d="d1", body="Cuerpo del despacho", title="Título"):
    event = sign_as(reporter, 30023, body, [["d", d], ["title", title], ["t", "paro"]])
    assert ingest([event])[0].ok
    return event


def public_ids():
    return {r.id for r in query([Filter()])}


@pytest.mark.django_db(transaction=True)
def test_filed_dispatch_is_private_until_published(desk):
    editor, reporter = desk
    event = file(reporter)
    key = event.address
    story = Story.objects.get(key=key)
    assert story.state == State.FILED  # intake made the story
    assert event.id not in public_ids()
    workflow.transition(key, "review", editor)
    workflow.transition(key, "approve", editor)
    publication = workflow.publish(key, editor)
    assert publication.number == 0
    repost = publication.repost
    assert repost.kind == 16
    assert ["k", "30023"] in repost.tags
    assert ["number", "0"] in repost.tags
    assert ["a", key, settings.MINGA.relay_url] in repost.tags
    assert repost.pubkey == workflow._outlet_key().pubkey
    assert event.id in public_ids()
    assert repost.id in public_ids()
    assert Story.objects.get(key=key).state == State.PUBLISHED
    assert list(AuditEntry.objects.filter(target=key).values_list("action", flat=True)) == [
        "publish",
        "approve",
        "review",
    ]
    with pytest.raises(Conflict):
        workflow.publish(key, editor)


@pytest.mark.django_db(transaction=True)
def test_numbers_are_gapless_under_concurrent_publishing(desk):
    editor, reporter = desk
    keys = [file(reporter, d=f"d{n}").address for n in range(8)]
    errors = []

    def go(key):
        try:
            workflow.publish(key, editor)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=go, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Story.objects.values_list("number", flat=True))
    assert numbers == list(range(8))


@pytest.mark.django_db(transaction=True)
def test_send_back_needs_a_note_and_a_new_version_refiles(desk):
    editor, reporter = desk
    key = file(reporter).address
    with pytest.raises(InvalidInput, match="say what to fix"):
        workflow.transition(key, "return", editor)
    workflow.transition(key, "return", editor, "Falta la fuente")
    story = Story.objects.get(key=key)
    assert (story.state, story.note) == (State.RETURNED, "Falta la fuente")
    file(reporter, body="Con fuente: la vecina del tercer piso")
    assert Story.objects.get(key=key).state == State.FILED


@pytest.mark.django_db(transaction=True)
def test_edit_then_correction_keep_every_version(desk):
    editor, reporter = desk
    first = file(reporter, body="Dos mil personas")
    key = first.address
    edited = workflow.revise(key, editor, content="Tres mil personas")
    assert latest(key).id == edited.id
    workflow.publish(key, editor)
    with pytest.raises(InvalidInput, match="public note"):
        workflow.revise(key, editor, content="Cuatro mil")
    corrected = workflow.revise(
        key, editor, content="Cuatro mil personas", correction="Cifra actualizada"
    )
    assert corrected.created_at > edited.created_at
    assert ["correction", "Cifra actualizada"] in corrected.tags
    assert corrected.id in public_ids()  # a correction of a published dispatch is public
    from minga.store.query import versions

    assert [e.content for e in versions(key)] == [
        "Cuatro mil personas",
        "Tres mil personas",
        "Dos mil personas",
    ]
    assert Story.objects.get(key=key).number == 0
    actions = list(AuditEntry.objects.filter(target=key).values_list("action", flat=True))
    assert actions == ["correct", "publish", "edit"]


@pytest.mark.django_db(transaction=True)
def test_retraction_is_public_and_keeps_the_record(desk):
    editor, reporter = desk
    event = file(reporter)
    key = event.address
    publication = workflow.publish(key, editor)
    with pytest.raises(InvalidInput, match="public note"):
        workflow.retract(key, editor, " ")
    deletion = workflow.retract(key, editor, "La fuente no pudo confirmarse")
    assert deletion.kind == 5
    assert deletion.content == "La fuente no pudo confirmarse"
    assert ["e", publication.repost.id] in deletion.tags
    visible = public_ids()
    assert event.id not in visible  # back under embargo
    assert publication.repost.id not in visible  # the outlet's repost is deleted
    assert deletion.id in visible  # the retraction note is public
    assert latest(key) is not None  # and the record keeps everything
    story = Story.objects.get(key=key)
    assert (story.state, story.note, story.number) == (
        State.RETRACTED,
        "La fuente no pudo confirmarse",
        0,
    )


@pytest.mark.django_db(transaction=True)
def test_media_records_are_released_with_their_dispatch(desk):
    editor, reporter = desk
    sha = "ab" * 32
    media = sign_as(reporter, 1063, "foto", [["x", sha], ["m", "image/jpeg"]])
    ingest([media])
    event = sign_as(
        reporter, 30023, "con foto", [["d", "m1"], ["imeta", f"url http://x/{sha}.jpg", f"x {sha}"]]
    )
    ingest([event])
    assert media.id not in public_ids()
    workflow.publish(event.address, editor)
    assert media.id in public_ids()


@pytest.mark.django_db(transaction=True)
def test_self_custody_authors_sign_their_own_versions(desk):
    editor, _ = desk
    own = SecretKey.generate()
    from minga.newsroom import membership

    membership.add(own.pubkey, "reporter")
    event = sign_event(own, 30023, "mío", [["d", "x"]])
    ingest([event])
    with pytest.raises(Forbidden, match="ask them to sign"):
        workflow.revise(event.address, editor, content="cambiado")


@pytest.mark.django_db(transaction=True)
def test_notes_are_reposted_without_a_number(desk):
    editor, reporter = desk
    note = sign_as(reporter, 1, "nota rápida", [])
    ingest([note])
    publication = workflow.publish(note.id, editor)
    assert publication.number is None
    assert publication.repost.kind == 6

"""A newsroom that has published things, for the publishing tests.

Real store, real media pipeline (a photo with GPS and camera metadata goes in,
the clean copy and its sizes come out), real desk workflow:

- #0  Spanish dispatch with the photo, later corrected with a public note;
- #1  its English translation;
- a published quick note;
- #2  a dispatch the desk then retracted, with a public note;
- one dispatch filed and never published (must appear nowhere).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from django.conf import settings

from minga.blobs.storage import BlobStore
from minga.events.event import Event
from minga.events.kinds import LONG_FORM, NOTE
from minga.media.models import Media
from minga.media.pipeline import process
from minga.newsroom import people, workflow
from minga.newsroom.filing import summary_of
from minga.newsroom.models import Person
from minga.newsroom.signing import sign_as
from minga.publish.catalogue import Catalogue
from minga.store.ingest import ingest
from tests.samples import photo_with_metadata

PASSWORD = "una clave larga de prueba"
BASE_TIME = 1_790_000_000  # 2026-09-21: fixed, so rebuilt output can be compared


@dataclass
class Published:
    outlet: str
    editor: object
    rosa: Person
    teo: Person
    photo: dict[str, object]  # the media pipeline's result for the photo
    keys: dict[str, str] = field(default_factory=dict)  # name -> item key
    unpublished: str = ""

    def catalogue(self) -> Catalogue:
        return Catalogue.load(self.outlet, "Prueba")


def _store(event: Event) -> Event:
    outcome = ingest([event])[0]
    assert outcome.ok, outcome.message
    return event


def dispatch(person: Person, d: str, title: str, body: str, lang: str, at: int, *extra):
    tags = [
        ["d", d],
        ["title", title],
        ["summary", summary_of(body)],
        ["L", "ISO-639-1"],
        ["l", lang, "ISO-639-1"],
        ["location", "Lima, plaza San Martín"],
        ["t", "paronacional"],
        *extra,
    ]
    return _store(sign_as(person, LONG_FORM, body, [list(t) for t in tags], at))


def photo_media(person: Person, tmp_path) -> dict[str, object]:
    source = photo_with_metadata(tmp_path)
    media = Media.objects.create(
        id=uuid.uuid4().hex, owner=person.pubkey, alt="Marcha en la plaza San Martín"
    )
    upload = tmp_path / f"upload-{media.id}"
    upload.write_bytes(source.read_bytes())
    done = process(media.id, upload, BlobStore(settings.MINGA.data_path / "blobs"))
    assert done.status == "ready", done.error
    return dict(done.result)


@pytest.fixture
def published(newsroom, tmp_path) -> Published:
    editor = people.create_person("editora", PASSWORD, "Editora", "editor").user
    rosa = people.create_person("rosa", PASSWORD, "Rosa Quispe", "reporter")
    teo = people.create_person("teodoro", PASSWORD, "Teodoro Mamani", "reporter")
    photo = photo_media(rosa, tmp_path)
    world = Published(newsroom.outlet_key.pubkey, editor, rosa, teo, photo)

    first = dispatch(
        rosa,
        "paro-dia-1",
        "Primer día del paro",
        "Desde las cinco no circula el transporte.\n\nUnas **dos mil** personas marchan.",
        "es",
        BASE_TIME,
        photo["imeta"],
        ["t", "Transporte"],
    )
    world.keys["first"] = first.address
    workflow.publish(first.address, editor)
    translation = dispatch(
        teo,
        "strike-day-1",
        "General strike, day one",
        "Public transport stopped before dawn.\n\nSome **two thousand** people march.",
        "en",
        BASE_TIME + 600,
        ["a", first.address, "", "translation"],
    )
    world.keys["translation"] = translation.address
    workflow.publish(translation.address, editor)
    note = _store(
        sign_as(
            teo,
            NOTE,
            "Bloqueo en el km 12, todo tranquilo.",
            [["t", "puno"], ["L", "ISO-639-1"], ["l", "es", "ISO-639-1"]],
            BASE_TIME + 900,
        )
    )
    world.keys["note"] = note.id
    workflow.publish(note.id, editor)
    wrong = dispatch(
        teo, "herido-km-12", "Un herido en el km 12", "Sin confirmar.", "es", BASE_TIME + 1200
    )
    world.keys["retracted"] = wrong.address
    workflow.publish(wrong.address, editor)
    workflow.retract(wrong.address, editor, "No se confirmó: el herido era de otro bloqueo.")
    workflow.revise(
        first.address,
        editor,
        content="Desde las cinco no circula el transporte.\n\nUnas **tres mil** personas marchan.",
        correction="La primera versión decía dos mil; eran tres mil.",
    )
    pending = dispatch(rosa, "borrador", "Sin publicar", "Todavía no.", "es", BASE_TIME + 1500)
    world.unpublished = pending.address
    return world

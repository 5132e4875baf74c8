"""Syndication end to end: a real newsroom's published items go out on every
configured channel (platform stand-ins, a real SMTP server), once, and their
corrections and retractions follow; failures, restarts and refusals."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pytest
from django.urls import include, path
from django.utils import timezone

from minga import config
from minga.exceptions import PublishError
from minga.newsroom import workflow
from minga.publish import jobs, syndication
from minga.publish.channels import bluesky
from minga.publish.channels.content import Picture
from minga.publish.models import Delivery, JobState, Subscriber
from tests.publish.standins.bluesky import Bluesky as BlueskyServer
from tests.publish.standins.mastodon import Mastodon as MastodonServer
from tests.publish.standins.smtp import Handler, smtp_server
from tests.publish.standins.telegram import Telegram as TelegramServer
from tests.publish.standins.telegram import visible

urlpatterns = [path("", include("minga.web.urls")), path("", include("minga.publish.urls"))]
pytestmark = pytest.mark.urls(__name__)
LATER = 10**10  # a "now" after every backoff


@dataclass
class Platforms:
    mastodon: MastodonServer
    telegram: TelegramServer
    bluesky: BlueskyServer
    mail: Handler


@pytest.fixture
def platforms(published, settings, monkeypatch):
    bluesky._sessions.clear()
    with (
        MastodonServer("tok-mastodon").running() as mastodon,
        TelegramServer("42:tok-telegram", "@prueba").running() as telegram,
        BlueskyServer("prueba.test", "app-pass").running() as sky,
        smtp_server() as (controller, mail),
    ):
        settings.MINGA = config.load(
            {
                "public_url": "https://nodo.example",
                "site_url": "https://noticias.example",
                "mastodon_url": mastodon.url,
                "telegram_api": telegram.url,
                "telegram_chat": "@prueba",
                "bluesky_service": sky.url,
                "bluesky_handle": "prueba.test",
                "smtp_url": f"smtp://127.0.0.1:{controller.port}",
                "newsletter_from": "boletin@noticias.example",
            }
        )
        monkeypatch.setenv("MINGA_MASTODON_TOKEN", "tok-mastodon")
        monkeypatch.setenv("MINGA_TELEGRAM_TOKEN", "42:tok-telegram")
        monkeypatch.setenv("MINGA_BLUESKY_PASSWORD", "app-pass")
        Subscriber.objects.create(
            email="lectora@example.org", token=secrets.token_urlsafe(32), confirmed=timezone.now()
        )
        yield Platforms(mastodon, telegram, sky, mail)
    bluesky._sessions.clear()


def states(key: str) -> dict[tuple[str, str], str]:
    return {(d.channel, d.action): d.state for d in syndication.deliveries(key)}


def test_post_for_a_published_dispatch(published, settings):
    settings.MINGA = config.load({"site_url": "https://noticias.example/"})
    catalogue = published.catalogue()
    post = syndication.post_for(catalogue.items[published.keys["first"]], catalogue)
    assert post.url == "https://noticias.example/d/0/"
    assert post.title == "Primer día del paro"
    assert post.language == "es"
    assert post.languages == ("en", "es")
    assert post.hashtags == ("paronacional", "Transporte")
    assert "Unas tres mil personas marchan." in post.text
    assert "<strong>tres mil</strong>" in post.html
    assert post.correction == "La primera versión decía dos mil; eran tres mil."
    assert post.outlet == "Prueba"
    [photo] = post.attachments
    assert isinstance(photo, Picture)
    assert photo.alt == "Marcha en la plaza San Martín"
    assert photo.sha256 == published.photo["main"]["sha256"]
    assert photo.path.read_bytes()[:2] == b"\xff\xd8"
    assert photo.variants
    assert all(v.path.is_file() for v in photo.variants)


def test_nothing_is_configured_by_default(published, settings):
    settings.MINGA = config.load({})
    assert syndication.channels() == []
    catalogue = published.catalogue()
    assert syndication.schedule(catalogue, catalogue.items) == []
    assert syndication.run_due() == []


def test_a_channel_without_its_credential_is_off(published, settings, monkeypatch):
    monkeypatch.delenv("MINGA_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("MINGA_BLUESKY_PASSWORD", raising=False)
    settings.MINGA = config.load({"telegram_chat": "@prueba", "bluesky_handle": "prueba.test"})
    assert syndication.channels() == []
    monkeypatch.setenv("MINGA_TELEGRAM_TOKEN", "42:tok")
    assert [c.name for c in syndication.channels()] == ["telegram"]
    catalogue = published.catalogue()
    made = syndication.schedule(catalogue, [published.keys["note"]])
    assert [(d.channel, d.action) for d in made] == [("telegram", "post")]


def test_every_item_goes_out_once_on_every_channel(platforms, published):
    catalogue = published.catalogue()
    made = syndication.schedule(catalogue, catalogue.items)
    assert {(d.channel, d.action) for d in made} == {
        (c, "post") for c in ("mastodon", "telegram", "bluesky", "email")
    }
    assert len(made) == 12  # first, translation, note: the retracted one never went out
    ran = syndication.run_due(limit=50)
    assert {d.state for d in ran} == {JobState.DONE}
    assert len(platforms.mastodon.live()) == 3
    assert len(platforms.telegram.live()) == 3
    assert len(platforms.bluesky.live()) == 3
    # the newsletter reader chose no language: all three
    assert len(platforms.mail.received) == 3

    first = published.keys["first"]
    toot = next(s for s in platforms.mastodon.live() if "Primer día del paro" in s.text)
    [media] = toot.media_ids
    assert platforms.mastodon.media[media]["description"] == "Marcha en la plaza San Martín"
    photo = next(m for m in platforms.telegram.live() if m.photo)
    assert "Primer día del paro" in visible(photo.caption, "HTML")
    sky = next(
        r for r in platforms.bluesky.live() if "embed" in r.value and "images" in r.value["embed"]
    )
    assert sky.value["embed"]["images"][0]["alt"] == "Marcha en la plaza San Martín"
    # the correction made before it went out is in the post, not sent apart
    assert states(first)[("mastodon", "correct")] == JobState.SUPERSEDED
    assert "La primera versión decía dos mil" in toot.text
    done = Delivery.objects.get(channel="mastodon", item_key=first, action="post")
    assert done.remote_url == f"{platforms.mastodon.url}/@prueba/{toot.id}"

    # scheduled again, run again: nothing more goes out
    assert syndication.schedule(catalogue, catalogue.items) == []
    assert syndication.run_due(limit=50, now=LATER) == []
    assert len(platforms.mastodon.statuses) == 3
    assert len(platforms.mail.received) == 3


def test_correction_and_retraction_follow_on_each_channel(platforms, published):
    key = published.keys["translation"]
    catalogue = published.catalogue()
    syndication.schedule(catalogue, [key])
    syndication.run_due(limit=50)
    workflow.revise(
        key,
        published.editor,
        content="Public transport stopped before dawn.\n\nSome **three thousand** people march.",
        correction="The first version said two thousand.",
    )
    changed = catalogue.refresh([key])
    made = syndication.schedule(catalogue, changed)
    assert {(d.channel, d.action) for d in made} == {
        (c, "correct") for c in ("mastodon", "telegram", "bluesky", "email")
    }
    syndication.run_due(limit=50)
    assert set(states(key).values()) == {JobState.DONE}
    [toot] = platforms.mastodon.live()
    assert toot.edits
    assert toot.text.endswith("The first version said two thousand.")
    [message] = platforms.telegram.live()
    assert visible(message.text, "HTML").endswith("The first version said two thousand.")
    original, reply = platforms.bluesky.live()
    assert reply.value["reply"]["parent"]["uri"].endswith(original.rkey)
    assert "The first version said two thousand." in platforms.mail.received[-1].message["Subject"]

    workflow.retract(key, published.editor, "The source withdrew the figures.")
    made = syndication.schedule(catalogue, catalogue.refresh([key]))
    assert {d.action for d in made} == {"retract"}
    syndication.run_due(limit=50)
    assert toot.deleted
    [note] = platforms.mastodon.live()
    assert "The source withdrew the figures." in note.text
    [tg_note] = platforms.telegram.live()
    assert "The source withdrew the figures." in visible(tg_note.text, "HTML")
    [sky_note] = [r for r in platforms.bluesky.live() if r.rkey != reply.rkey]
    assert "The source withdrew the figures." in sky_note.value["text"]
    assert len(platforms.mail.received) == 3  # post, correction, retraction
    assert (
        "The source withdrew"
        in platforms.mail.received[-1].message.get_body(("plain",)).get_content()
    )


def test_a_retraction_before_the_post_went_out_stops_it(platforms, published):
    key = published.keys["note"]
    catalogue = published.catalogue()
    syndication.schedule(catalogue, [key])
    workflow.retract(key, published.editor, "Duplicada.")
    assert syndication.schedule(catalogue, catalogue.refresh([key])) == []
    assert syndication.run_due(limit=50) == []
    assert set(states(key).values()) == {JobState.SUPERSEDED}
    assert platforms.mastodon.statuses == {}
    assert platforms.telegram.messages == {}
    assert platforms.mail.received == []


def test_retries_after_500_and_429_post_once_and_followups_wait(platforms, published):
    key = published.keys["note"]
    catalogue = published.catalogue()
    platforms.mastodon.fail("/api/v1/statuses", 500, {"error": "boom"})
    platforms.telegram.fail(
        "/sendMessage",
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    syndication.schedule(catalogue, [key])
    before = time.time()
    syndication.run_due(limit=50)
    waiting = {d.channel: d for d in syndication.deliveries(key) if d.state == JobState.PENDING}
    assert set(waiting) == {"mastodon", "telegram"}
    assert waiting["telegram"].next_attempt >= int(before) + 7
    assert "HTTP 500" in waiting["mastodon"].last_error
    assert syndication.run_due(limit=50) == []  # not due yet
    syndication.run_due(limit=50, now=LATER)
    assert set(states(key).values()) == {JobState.DONE}
    assert len(platforms.mastodon.live()) == 1
    assert len(platforms.telegram.live()) == 1


def test_a_lost_telegram_answer_is_uncertain_and_never_resent(platforms, published):
    key = published.keys["note"]
    catalogue = published.catalogue()
    platforms.telegram.drop("/sendMessage")
    platforms.mastodon.drop("/api/v1/statuses")
    syndication.schedule(catalogue, [key])
    syndication.run_due(limit=50)
    assert states(key)[("telegram", "post")] == JobState.UNCERTAIN
    assert states(key)[("mastodon", "post")] == JobState.PENDING  # safe to repeat
    syndication.run_due(limit=50, now=LATER)
    assert states(key)[("telegram", "post")] == JobState.UNCERTAIN
    assert states(key)[("mastodon", "post")] == JobState.DONE
    assert len(platforms.telegram.live()) == 1
    assert len(platforms.mastodon.live()) == 1  # the idempotency key found the first
    # the desk finds the message on the channel and records it: follow-ups reach it
    [message] = platforms.telegram.live()
    uncertain = Delivery.objects.get(channel="telegram", item_key=key)
    syndication.settle(uncertain, f"text:{message.message_id}")
    workflow.retract(key, published.editor, "Duplicada.")
    syndication.schedule(catalogue, catalogue.refresh([key]))
    syndication.run_due(limit=50)
    assert states(key)[("telegram", "retract")] == JobState.DONE
    assert message.deleted
    with pytest.raises(PublishError, match="only an uncertain or failed"):
        syndication.settle(uncertain, "text:1")


def test_a_crash_between_claim_and_finish_is_recovered(platforms, published):
    key = published.keys["note"]
    catalogue = published.catalogue()
    syndication.schedule(catalogue, [key])
    claimed = jobs.claim(Delivery, 50)
    assert len(claimed) == 4  # ... and the process dies here
    assert syndication.recover() == 4
    assert states(key) == {
        ("mastodon", "post"): JobState.PENDING,
        ("bluesky", "post"): JobState.PENDING,
        ("email", "post"): JobState.PENDING,
        ("telegram", "post"): JobState.UNCERTAIN,
    }
    syndication.run_due(limit=50)
    assert len(platforms.mastodon.live()) == 1
    assert len(platforms.bluesky.live()) == 1
    assert len(platforms.mail.received) == 1
    assert platforms.telegram.messages == {}


def test_a_refusal_is_kept_for_a_person(platforms, published, monkeypatch):
    monkeypatch.setenv("MINGA_MASTODON_TOKEN", "revoked")
    key = published.keys["note"]
    catalogue = published.catalogue()
    syndication.schedule(catalogue, [key])
    syndication.run_due(limit=50)
    failed = Delivery.objects.get(channel="mastodon", item_key=key)
    assert failed.state == JobState.FAILED
    assert "mastodon_token" in failed.last_error
    monkeypatch.setenv("MINGA_MASTODON_TOKEN", "tok-mastodon")
    jobs.retry_now(failed)
    syndication.run_due(limit=50)
    failed.refresh_from_db()
    assert failed.state == JobState.DONE
    assert len(platforms.mastodon.live()) == 1

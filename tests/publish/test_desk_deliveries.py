"""The desk sees where each item went, and acts on posts that failed or may have gone."""

from __future__ import annotations

import pytest
from django.test import Client

from minga.newsroom.models import AuditEntry, Person, Story
from minga.publish.models import Action, Delivery, JobState

pytestmark = pytest.mark.django_db(transaction=True)


def desk_client(published) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(published.editor)
    return client


def delivery(published, state: str, channel: str = "telegram") -> tuple[Story, Delivery]:
    story = Story.objects.get(key=published.keys["first"])
    job = Delivery.objects.create(
        channel=channel,
        item_key=story.key,
        action=Action.POST,
        version="",
        state=state,
        attempts=3,
        last_error="the answer was lost",
    )
    return story, job


def test_the_story_page_lists_the_channels(published):
    story, _job = delivery(published, JobState.UNCERTAIN)
    Delivery.objects.create(
        channel="mastodon",
        item_key=story.key,
        action=Action.POST,
        version="",
        state=JobState.DONE,
        remote_id="109",
        remote_url="https://masto.example/@outlet/109",
    )
    page = desk_client(published).get(f"/desk/story/{story.pk}/").content.decode()
    assert "telegram" in page
    assert "the answer was lost" in page
    assert 'href="https://masto.example/@outlet/109"' in page
    assert f"/desk/story/{story.pk}/delivery/" in page  # the forms for the uncertain post


def test_an_uncertain_post_found_on_the_channel_is_recorded(published):
    story, job = delivery(published, JobState.UNCERTAIN)
    answer = desk_client(published).post(
        f"/desk/story/{story.pk}/delivery/{job.pk}/settle",
        {"remote_id": "4242", "remote_url": "https://t.me/outlet/4242"},
    )
    assert answer.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.remote_id == "4242"
    assert AuditEntry.objects.filter(target=story.key, action="delivery-settle").exists()


def test_a_failed_post_is_tried_again_but_a_done_one_is_not(published):
    story, job = delivery(published, JobState.FAILED)
    client = desk_client(published)
    client.post(f"/desk/story/{story.pk}/delivery/{job.pk}/retry")
    job.refresh_from_db()
    assert job.state == JobState.PENDING
    assert job.next_attempt == 0
    done = Delivery.objects.create(
        channel="bluesky", item_key=story.key, action=Action.POST, version="", state="done"
    )
    client.post(f"/desk/story/{story.pk}/delivery/{done.pk}/retry")
    done.refresh_from_db()
    assert done.state == JobState.DONE  # never sent twice by a click


def test_reporters_cannot_touch_deliveries(published):
    story, job = delivery(published, JobState.FAILED)
    reporter = Client()
    reporter.force_login(Person.objects.get(user__username="rosa").user)
    answer = reporter.post(f"/desk/story/{story.pk}/delivery/{job.pk}/retry")
    assert answer.status_code in (302, 403)
    job.refresh_from_db()
    assert job.state == JobState.FAILED

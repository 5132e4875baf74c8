"""Mastodon channel against a stand-in that speaks Mastodon's REST API (checked
with Mastodon.py), with the failures a real server gives."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from minga.exceptions import PublishError, RetryLater
from minga.publish.channels.base import Remote
from minga.publish.channels.http import Http
from minga.publish.channels.mastodon import Mastodon
from tests.publish.standins.mastodon import Mastodon as MastodonServer
from tests.publish.standins.mastodon import weight
from tests.publish.standins.posts import dispatch

TOKEN = "token-de-prueba"


@pytest.fixture
def server():
    with MastodonServer(TOKEN).running() as running:
        yield running


@pytest.fixture
def channel(server):
    channel = Mastodon(server.url, TOKEN)
    channel.poll_seconds = 0.01
    return channel


def test_posts_status_with_photo_alt_link_and_hashtags(server, channel, tmp_path):
    post = dispatch(tmp_path)
    remote = channel.post(post)
    [status] = server.live()
    assert remote == Remote(status.id, f"{server.url}/@prueba/{status.id}")
    assert status.text.startswith("Primer día del paro\n\n")
    assert post.url in status.text
    assert "#paronacional #Transporte" in status.text
    assert status.language == "es"
    assert status.visibility == "public"
    [media_id] = status.media_ids
    assert server.media[media_id]["description"] == "Marcha en la plaza San Martín"
    assert server.files[media_id] == post.attachments[0].path.read_bytes()
    [sent] = server.calls("/api/v1/statuses", "POST")
    assert len(sent.headers["idempotency-key"]) == 40


def test_long_text_is_cut_to_mastodons_count(server, channel, tmp_path):
    long = "Palabra " * 300
    remote = channel.post(dispatch(tmp_path, summary=long, title="Título " * 10, attachments=()))
    text = server.statuses[remote.id].text
    assert weight(text) <= 500
    assert text.endswith("#paronacional #Transporte")
    assert "…" in text


def test_video_is_polled_until_processed(server, channel, tmp_path):
    server.processing_polls = 2
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    from minga.publish.channels.base import Attachment

    clip = Attachment(video, "video/mp4", "Video de la marcha", "b" * 64, video.stat().st_size)
    remote = channel.post(dispatch(tmp_path, attachments=(clip,)))
    assert len(server.calls("/api/v1/media/", "GET")) == 3  # 206, 206, then 200
    assert server.statuses[remote.id].media_ids


def test_retry_after_500_posts_once(server, channel, tmp_path):
    post = dispatch(tmp_path)
    server.fail("/api/v1/statuses", 500, {"error": "We're sorry, but something went wrong"})
    with pytest.raises(RetryLater):
        channel.post(post)
    assert server.live() == []
    channel.post(post)
    assert len(server.live()) == 1


def test_rate_limit_waits_until_reset(server, channel, tmp_path):
    server.fail(
        "/api/v1/statuses",
        429,
        {"error": "Too many requests"},
        {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2999-01-01T00:00:00.000Z",
        },
    )
    with pytest.raises(RetryLater) as caught:
        channel.post(dispatch(tmp_path))
    assert caught.value.after is None  # too far away: the backoff decides
    server.fail("/api/v1/statuses", 429, {"error": "Too many requests"}, {"Retry-After": "30"})
    with pytest.raises(RetryLater) as caught:
        channel.post(dispatch(tmp_path))
    assert caught.value.after == 30
    assert server.live() == []


def test_lost_answer_is_retried_safely_with_the_idempotency_key(server, channel, tmp_path):
    post = dispatch(tmp_path)
    server.drop("/api/v1/statuses")
    with pytest.raises(RetryLater):
        channel.post(post)
    assert len(server.live()) == 1  # it was made; the answer was lost
    remote = channel.post(post)
    assert [s.id for s in server.live()] == [remote.id]


def test_correction_edits_the_status_and_keeps_its_media(server, channel, tmp_path):
    post = dispatch(tmp_path)
    remote = channel.post(post)
    media = server.statuses[remote.id].media_ids
    fixed = dispatch(tmp_path, correction="La primera versión decía dos mil; eran tres mil.")
    edited = channel.correct(fixed, remote)
    status = server.statuses[remote.id]
    assert edited.id == remote.id
    assert status.edits
    assert status.media_ids == media
    assert status.text.endswith("Corrección: La primera versión decía dos mil; eran tres mil.") or (
        status.text.endswith("Correction: La primera versión decía dos mil; eran tres mil.")
    )
    channel.correct(fixed, remote)  # again: the same text, harmless
    assert len(server.live()) == 1


def test_retraction_deletes_and_posts_a_note_once(server, channel, tmp_path):
    remote = channel.post(dispatch(tmp_path))
    retracted = dispatch(
        tmp_path, title="", summary="", text="", attachments=(), retraction="No se confirmó."
    )
    # the delete goes through, the note fails: the retry deletes nothing more
    server.fail(
        "/api/v1/statuses", 503, b"<html>down</html>", {"Content-Type": "text/html"}, method="POST"
    )
    with pytest.raises(RetryLater):
        channel.retract(retracted, remote)
    channel.retract(retracted, remote)
    [note] = server.live()
    assert server.statuses[remote.id].deleted
    assert "retracts dispatch #7" in note.text or "retira el despacho #7" in note.text
    assert "No se confirmó." in note.text
    assert retracted.url in note.text
    channel.retract(retracted, remote)  # a third time: still one note
    assert len(server.live()) == 1


def test_bad_token_is_a_clear_refusal(server, tmp_path):
    with pytest.raises(PublishError, match="mastodon_token") as caught:
        Mastodon(server.url, "wrong").post(dispatch(tmp_path))
    assert not isinstance(caught.value, RetryLater)


def test_refusal_carries_the_servers_message(server, channel, tmp_path):
    server.fail("/api/v1/statuses", 422, {"error": "Validation failed: Text can't be blank"})
    with pytest.raises(PublishError, match="Text can't be blank"):
        channel.post(dispatch(tmp_path))


def test_unreachable_server_is_retried(tmp_path):
    from tests.fixtures import free_port

    with pytest.raises(RetryLater, match="cannot connect"):
        Mastodon(f"http://127.0.0.1:{free_port()}", TOKEN).post(dispatch(tmp_path, attachments=()))


answers = st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"id": st.one_of(st.none(), st.booleans(), st.lists(st.integers()), st.text())}
    ).map(lambda v: json.dumps(v).encode()),
)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=answers, status=st.sampled_from([200, 201, 400, 404, 422]))
def test_any_answer_gives_a_remote_or_a_publish_error(tmp_path, body, status):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    channel = Mastodon(
        "https://mastodon.example", TOKEN, Http("mastodon", httpx.MockTransport(answer))
    )
    post = dispatch(tmp_path, attachments=())
    try:
        remote = channel.post(post)
    except PublishError:
        return
    assert status < 300
    assert remote.id


# -- the stand-in speaks what Mastodon.py speaks ------------------------------


def test_mastodon_py_drives_the_standin(server, tmp_path):
    from mastodon import Mastodon as Client

    client = Client(access_token=TOKEN, api_base_url=server.url, version_check_mode="none")
    photo = dispatch(tmp_path).attachments[0]
    with photo.path.open("rb") as file:
        media = client.media_post(file, mime_type="image/jpeg", description="alt de prueba")
    status = client.status_post(
        "Hola #prueba https://noticias.example/d/1/",
        media_ids=[media["id"]],
        idempotency_key="clave-1",
        language="es",
    )
    again = client.status_post("Hola otra vez", idempotency_key="clave-1")
    assert again["id"] == status["id"]
    edited = client.status_update(status["id"], "Hola, corregido", media_ids=[media["id"]])
    assert edited["edited_at"] is not None
    deleted = client.status_delete(status["id"])
    assert deleted["text"] == "Hola, corregido"
    stored = server.statuses[str(status["id"])]
    assert stored.deleted
    assert stored.media_ids == [str(media["id"])]
    assert server.media[str(media["id"])]["description"] == "alt de prueba"
    from mastodon.errors import MastodonNotFoundError

    with pytest.raises(MastodonNotFoundError):
        client.status(status["id"])

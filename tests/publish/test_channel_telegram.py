"""Telegram channel against a Bot API stand-in (checked with python-telegram-bot)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from minga.exceptions import PublishError, RetryLater, Uncertain
from minga.publish.channels.base import Remote
from minga.publish.channels.http import Http
from minga.publish.channels.telegram import Telegram
from tests.fixtures import free_port
from tests.publish.standins.posts import dispatch
from tests.publish.standins.telegram import Telegram as TelegramServer
from tests.publish.standins.telegram import units, visible

TOKEN = "123456:ABC-prueba"


@pytest.fixture
def server():
    with TelegramServer(TOKEN, "@prueba").running() as running:
        yield running


@pytest.fixture
def channel(server):
    return Telegram(server.url, TOKEN, "@prueba")


def test_photo_goes_with_an_html_caption(server, channel, tmp_path):
    post = dispatch(tmp_path, title="Paro <total> & marchas")
    remote = channel.post(post)
    [message] = server.live()
    assert remote == Remote(
        f"photo:{message.message_id}", f"https://t.me/prueba/{message.message_id}"
    )
    assert message.photo == post.attachments[0].path.read_bytes()
    assert message.parse_mode == "HTML"
    assert message.caption.startswith("<b>Paro &lt;total&gt; &amp; marchas</b>")
    shown = visible(message.caption, "HTML")
    assert post.url in shown
    assert "#paronacional #Transporte" in shown


def test_without_photo_the_whole_text_goes_as_a_message(server, channel, tmp_path):
    post = dispatch(tmp_path, attachments=())
    remote = channel.post(post)
    [message] = server.live()
    assert remote.id == f"text:{message.message_id}"
    assert "Unas tres mil personas marchan." in visible(message.text, "HTML")


def test_lengths_are_counted_as_telegram_counts_them(server, channel, tmp_path):
    emoji = "✊🏽 " * 1500  # outside the BMP: two UTF-16 units each
    channel.post(dispatch(tmp_path, summary=emoji, text=emoji))
    channel.post(dispatch(tmp_path, summary=emoji, text=emoji, attachments=()))
    photo, text = server.live()
    assert 1000 < units(visible(photo.caption, "HTML")) <= 1024
    assert 4000 < units(visible(text.text, "HTML")) <= 4096


def test_flood_wait_is_honoured(server, channel, tmp_path):
    server.fail(
        "/sendPhoto",
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 35",
            "parameters": {"retry_after": 35},
        },
    )
    with pytest.raises(RetryLater) as caught:
        channel.post(dispatch(tmp_path))
    assert caught.value.after == 35
    assert server.live() == []
    channel.post(dispatch(tmp_path))
    assert len(server.live()) == 1


def test_retry_after_500_posts_once(server, channel, tmp_path):
    server.fail(
        "/sendPhoto", 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    )
    with pytest.raises(RetryLater):
        channel.post(dispatch(tmp_path))
    channel.post(dispatch(tmp_path))
    assert len(server.live()) == 1


def test_lost_answer_is_uncertain(server, channel, tmp_path):
    server.drop("/sendPhoto")
    with pytest.raises(Uncertain):
        channel.post(dispatch(tmp_path))
    assert len(server.live()) == 1  # it did go out: sending again would post twice


def test_no_connection_is_retried(tmp_path):
    channel = Telegram(f"http://127.0.0.1:{free_port()}", TOKEN, "@prueba")
    with pytest.raises(RetryLater, match="cannot connect") as caught:
        channel.post(dispatch(tmp_path))
    assert TOKEN not in caught.value.message


def test_bad_token_is_refused_without_showing_it(server, tmp_path):
    with pytest.raises(PublishError, match="telegram_token") as caught:
        Telegram(server.url, "999:wrong", "@prueba").post(dispatch(tmp_path))
    assert "999:wrong" not in caught.value.message
    assert not isinstance(caught.value, RetryLater)


def test_correction_edits_caption_or_text(server, channel, tmp_path):
    photo = channel.post(dispatch(tmp_path))
    text = channel.post(dispatch(tmp_path, attachments=()))
    fixed = dispatch(tmp_path, correction="Eran tres mil, no dos mil.")
    assert channel.correct(fixed, photo) == photo
    channel.correct(fixed, text)
    channel.correct(fixed, text)  # again: "not modified" is done
    first, second = server.live()
    assert visible(first.caption, "HTML").endswith("Eran tres mil, no dos mil.")
    assert visible(second.text, "HTML").endswith("Eran tres mil, no dos mil.")
    assert len(first.edits) == 1
    assert len(second.edits) == 1


def test_retraction_deletes_and_sends_a_note(server, channel, tmp_path):
    remote = channel.post(dispatch(tmp_path))
    retracted = dispatch(tmp_path, title="", summary="", text="", retraction="No se confirmó.")
    server.fail("/sendMessage", 502, b"Bad Gateway")
    with pytest.raises(RetryLater):
        channel.retract(retracted, remote)
    channel.retract(retracted, remote)  # deleting again finds nothing: fine
    [note] = server.live()
    shown = visible(note.text, "HTML")
    assert "No se confirmó." in shown
    assert retracted.url in shown
    assert server.messages[int(remote.id.split(":")[1])].deleted


def test_a_message_too_old_to_delete_is_replaced(server, channel, tmp_path):
    remote = channel.post(dispatch(tmp_path, attachments=()))
    number = int(remote.id.split(":")[1])
    server.undeletable.add(number)
    channel.retract(dispatch(tmp_path, attachments=(), retraction="No se confirmó."), remote)
    old, note = server.live()
    assert old.message_id == number
    assert "Unas tres mil" not in old.text
    assert "No se confirmó." in old.text
    assert "No se confirmó." in note.text


answers = st.one_of(
    st.binary(max_size=100),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["ok", "result", "message_id", "description", "parameters", "retry_after"]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=answers, status=st.sampled_from([200, 400, 403, 429]))
def test_any_answer_gives_a_remote_or_a_publish_error(tmp_path, body, status):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    channel = Telegram("https://api.telegram.example", TOKEN, "@prueba")
    channel.http = Http("telegram", transport, channel.http.hint)
    error: PublishError | None = None
    try:
        remote = channel.post(dispatch(tmp_path, attachments=()))
    except PublishError as exc:
        error = exc
    if error is None:
        assert status == 200
        assert remote.id.startswith("text:")
        return
    assert TOKEN not in error.message
    if status == 200:  # it may have been posted: never a plain failure
        assert isinstance(error, Uncertain)


# -- the stand-in speaks what python-telegram-bot speaks ------------------------


def test_python_telegram_bot_drives_the_standin(server, tmp_path):
    from telegram import Bot
    from telegram.error import BadRequest

    photo = dispatch(tmp_path).attachments[0].path.read_bytes()

    async def session() -> None:
        async with Bot(TOKEN, base_url=f"{server.url}/bot") as bot:
            sent = await bot.send_photo(
                "@prueba", photo, caption="<b>Hola</b> &amp; más", parse_mode="HTML"
            )
            assert sent.caption == "Hola & más"
            assert sent.photo[0].file_size == len(photo)
            edited = await bot.edit_message_caption(
                "@prueba", sent.message_id, caption="<i>Corregido</i>", parse_mode="HTML"
            )
            assert edited.caption == "Corregido"
            text = await bot.send_message("@prueba", "Nota <b>breve</b>", parse_mode="HTML")
            assert text.text == "Nota breve"
            assert await bot.delete_message("@prueba", text.message_id) is True
            with pytest.raises(BadRequest, match="not found"):
                await bot.delete_message("@prueba", text.message_id)
            with pytest.raises(BadRequest, match="parse entities"):
                await bot.send_message("@prueba", "a <p>b</p>", parse_mode="HTML")

    asyncio.run(session())
    assert [m.message_id for m in server.live()] == [101]

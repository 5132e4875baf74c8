"""The newsletter channel against a real SMTP server (aiosmtpd) and the real database."""

from __future__ import annotations

import secrets

import pytest
from django.urls import include, path
from django.utils import timezone

from minga import config
from minga.exceptions import PublishError, RetryLater
from minga.publish.channels.base import Remote
from minga.publish.channels.content import Edition
from minga.publish.channels.email import Email
from minga.publish.models import Mailing, MailState, Subscriber
from tests.fixtures import free_port
from tests.publish.standins.posts import dispatch
from tests.publish.standins.smtp import smtp_server

urlpatterns = [path("", include("minga.web.urls")), path("", include("minga.publish.urls"))]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
SENDER = "boletin@noticias.example"


@pytest.fixture
def smtp():
    with smtp_server() as running:
        yield running


def configure(settings, port: int, **more) -> None:
    settings.MINGA = config.load(
        {
            "smtp_url": f"smtp://127.0.0.1:{port}",
            "newsletter_from": SENDER,
            "public_url": "https://nodo.example",
            **more,
        }
    )


@pytest.fixture
def channel(settings, smtp):
    configure(settings, smtp[0].port)
    channel = Email.configured()
    assert channel is not None
    return channel


def reader(email: str, language: str = "", confirmed: bool = True) -> Subscriber:
    return Subscriber.objects.create(
        email=email,
        language=language,
        token=secrets.token_urlsafe(32),
        confirmed=timezone.now() if confirmed else None,
    )


def edition(tmp_path, languages=("es", "en"), **changes) -> Edition:
    post = dispatch(tmp_path, **changes)
    return Edition(**{**post.__dict__, "languages": languages})


def test_one_message_per_reader_in_the_items_language(channel, smtp, tmp_path):
    ana, _bob, cris = (
        reader("ana@example.org", "es"),
        reader("bob@example.org", "en"),
        reader("cris@example.org"),
    )
    reader("nadie@example.org", confirmed=False)
    remote = channel.post(edition(tmp_path))
    assert remote == Remote("2 sent")
    received = {r.recipients[0]: r for r in smtp[1].received}
    assert set(received) == {ana.email, cris.email}  # bob reads the English version
    message = received[ana.email].message
    assert message["From"] == f"Prueba <{SENDER}>"
    assert message["Subject"] == "Primer día del paro"
    assert message["Content-Language"] == "es"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "Unas tres mil personas marchan." in text
    assert "<p>Unas tres mil personas marchan.</p>" in page
    link = f"https://nodo.example/newsletter/unsubscribe/{ana.token}/"
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text
    assert link in page
    assert message["Message-ID"].endswith("@noticias.example>")
    assert received[cris.email].message["Message-ID"] != message["Message-ID"]
    assert Mailing.objects.get(subscriber=ana).message_id == message["Message-ID"]


def test_a_reader_of_another_language_gets_an_item_not_translated(channel, smtp, tmp_path):
    reader("bob@example.org", "en")
    channel.post(edition(tmp_path, languages=("es",)))
    assert [r.recipients for r in smtp[1].received] == [["bob@example.org"]]


def test_sending_again_mails_nobody_twice(channel, smtp, tmp_path):
    reader("ana@example.org")
    channel.post(edition(tmp_path))
    channel.post(edition(tmp_path))
    reader("dora@example.org")  # arrived later: gets it on the next run
    assert channel.post(edition(tmp_path)) == Remote("2 sent")
    assert [r.recipients[0] for r in smtp[1].received] == ["ana@example.org", "dora@example.org"]


def test_a_link_cut_mid_way_never_mails_anyone_twice(channel, smtp, tmp_path):
    readers = [reader(f"r{n}@example.org") for n in range(3)]
    smtp[1].cut_after = 1  # the 2nd message arrives, its answer is lost
    with pytest.raises(RetryLater, match="not sent to that reader again"):
        channel.post(edition(tmp_path))
    channel.post(edition(tmp_path))
    got = [r.recipients[0] for r in smtp[1].received]
    assert got == [r.email for r in readers]  # each once
    states = {m.subscriber.email: m.state for m in Mailing.objects.select_related("subscriber")}
    assert states == {
        "r0@example.org": "sent",
        "r1@example.org": "sending",
        "r2@example.org": "sent",
    }


def test_a_refused_address_does_not_stop_the_others(channel, smtp, tmp_path):
    reader("ana@example.org")
    reader("mal@example.org")
    smtp[1].refuse["mal@example.org"] = "550 5.1.1 No such user"
    channel.post(edition(tmp_path))
    assert [r.recipients for r in smtp[1].received] == [["ana@example.org"]]
    refused = Mailing.objects.get(subscriber__email="mal@example.org")
    assert refused.state == MailState.REFUSED
    assert "No such user" in refused.error


def test_a_busy_address_is_tried_again(channel, smtp, tmp_path):
    reader("ana@example.org")
    smtp[1].refuse["ana@example.org"] = "451 4.3.0 Try again later"
    with pytest.raises(RetryLater):
        channel.post(edition(tmp_path))
    assert not Mailing.objects.exists()
    del smtp[1].refuse["ana@example.org"]
    channel.post(edition(tmp_path))
    assert len(smtp[1].received) == 1


def test_no_server_is_tried_again_with_nothing_recorded(settings, tmp_path):
    configure(settings, free_port())
    reader("ana@example.org")
    with pytest.raises(RetryLater, match="cannot open a session"):
        Email.configured().post(edition(tmp_path))
    assert not Mailing.objects.exists()


def test_correction_and_retraction_go_to_those_who_got_the_item(channel, smtp, tmp_path):
    reader("ana@example.org")
    remote = channel.post(edition(tmp_path))
    reader("tarde@example.org")  # subscribed after the item went out
    fixed = edition(tmp_path, correction="Eran tres mil, no dos mil.")
    channel.correct(fixed, remote)
    channel.correct(fixed, remote)
    gone = edition(tmp_path, title="", summary="", text="", retraction="No se confirmó.")
    channel.retract(gone, remote)
    first, correction, retraction = (r.message for r in smtp[1].received)
    assert [r.recipients[0] for r in smtp[1].received] == ["ana@example.org"] * 3
    assert correction["In-Reply-To"] == first["Message-ID"]
    assert "Eran tres mil, no dos mil." in correction["Subject"]
    assert "Eran tres mil, no dos mil." in correction.get_body(("plain",)).get_content()
    assert "No se confirmó." in retraction.get_body(("html",)).get_content()
    assert retraction["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_starttls_and_login_with_the_credential(settings, tmp_path, monkeypatch):
    with smtp_server(tls_folder=tmp_path, user="boletin", password="clave-smtp") as (
        controller,
        handler,
    ):
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "smtp-cert.pem"))
        monkeypatch.setenv("MINGA_SMTP_PASSWORD", "clave-smtp")
        settings.MINGA = config.load(
            {"smtp_url": f"smtp://boletin@127.0.0.1:{controller.port}", "newsletter_from": SENDER}
        )
        reader("ana@example.org")
        Email.configured().post(edition(tmp_path))
        assert len(handler.received) == 1
        monkeypatch.setenv("MINGA_SMTP_PASSWORD", "otra")
        reader("bea@example.org")
        with pytest.raises(PublishError, match="smtp_password") as caught:
            Email.configured().post(edition(tmp_path))
        assert not isinstance(caught.value, RetryLater)


def test_no_password_goes_over_a_link_without_tls(settings, smtp, tmp_path, monkeypatch):
    monkeypatch.setenv("MINGA_SMTP_PASSWORD", "clave-smtp")
    configure(settings, smtp[0].port, smtp_url=f"smtp://boletin@127.0.0.1:{smtp[0].port}")
    reader("ana@example.org")
    with pytest.raises(PublishError, match="no TLS"):
        Email.configured().post(edition(tmp_path))
    assert smtp[1].received == []


def test_unconfigured_without_url_sender_or_password(settings, monkeypatch):
    monkeypatch.delenv("MINGA_SMTP_PASSWORD", raising=False)
    settings.MINGA = config.load({"smtp_url": "smtp://127.0.0.1:2525"})
    assert Email.configured() is None
    settings.MINGA = config.load(
        {"smtp_url": "smtp://boletin@127.0.0.1:2525", "newsletter_from": SENDER}
    )
    assert Email.configured() is None
    settings.MINGA = config.load({"smtp_url": "smtps://127.0.0.1", "newsletter_from": SENDER})
    channel = Email.configured()
    assert channel is not None
    assert (channel.server.port, channel.server.tls) == (465, True)

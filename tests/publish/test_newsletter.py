"""Newsletter readers: double opt-in by mail, the confirm and unsubscribe pages
(with RFC 8058 one-click), and the CLI; real SMTP server, real database."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import include, path

from minga import config
from minga.exceptions import ConfigError, InvalidInput
from minga.publish import newsletter
from minga.publish.models import Subscriber
from minga.publish.newsletter_cli import newsletter as newsletter_cli
from tests.publish.standins.smtp import smtp_server

urlpatterns = [path("", include("minga.web.urls")), path("", include("minga.publish.urls"))]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]
SENDER = "boletin@noticias.example"


@pytest.fixture
def smtp(settings):
    with smtp_server() as (controller, handler):
        settings.MINGA = config.load(
            {
                "smtp_url": f"smtp://127.0.0.1:{controller.port}",
                "newsletter_from": SENDER,
                "public_url": "https://nodo.example",
            }
        )
        yield handler


def link(handler, kind: str) -> str:
    text = handler.received[-1].message.get_content()
    found = re.search(rf"https://nodo\.example(/newsletter/{kind}/[^/\s]+/)", text)
    assert found, text
    return found[1]


def test_subscribing_mails_a_confirmation_and_sends_nothing_else(smtp):
    reader = newsletter.subscribe("  Ana@Example.ORG ", "es")
    assert reader.email == "ana@example.org"
    assert reader.confirmed is None
    [mail] = smtp.received
    assert mail.recipients == ["ana@example.org"]
    message = mail.message
    # in the reader's language (Spanish once the catalogue has the string)
    assert message["Subject"] in {"Confirma tu suscripción", "Confirm your subscription"}
    assert link(smtp, "confirm") == f"/newsletter/confirm/{reader.token}/"
    newsletter.subscribe("ana@example.org", "es")  # again, unconfirmed: the link again
    assert len(smtp.received) == 2
    assert Subscriber.objects.count() == 1


def test_confirm_page_asks_then_confirms(smtp):
    newsletter.subscribe("ana@example.org", "en")
    url = link(smtp, "confirm")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(url)
    assert page.status_code == 200
    assert b"Receive the newsletter at ana@example.org?" in page.content
    assert Subscriber.objects.get().confirmed is None  # a GET (a mail scanner) changes nothing
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)[1].decode()
    done = client.post(url, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200
    assert b"Subscribed" in done.content
    assert Subscriber.objects.get().confirmed is not None
    assert client.post(url).status_code == 403  # without the CSRF token
    newsletter.subscribe("ana@example.org", "en")  # confirmed already: no mail
    assert len(smtp.received) == 1


def test_pages_in_spanish(smtp):
    reader = newsletter.subscribe("ana@example.org")
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(f"/newsletter/unsubscribe/{reader.token}/")
    assert b'<html lang="es">' in page.content
    assert b"ana@example.org?" in page.content


def test_one_click_unsubscribe_without_csrf(smtp):
    reader = newsletter.subscribe("ana@example.org")
    newsletter.confirm(reader.token)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    url = f"/newsletter/unsubscribe/{reader.token}/"
    page = client.get(url)
    assert b"Stop sending the newsletter to ana@example.org?" in page.content
    assert Subscriber.objects.exists()
    done = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200
    assert not Subscriber.objects.exists()
    assert (
        client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )


def test_unknown_links(smtp):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get("/newsletter/confirm/nada/").status_code == 404
    assert client.post("/newsletter/confirm/nada/").status_code in {403, 404}
    assert b"not subscribed" in client.get("/newsletter/unsubscribe/nada/").content


def test_bad_input_changes_nothing(smtp):
    with pytest.raises(InvalidInput):
        newsletter.subscribe("no es un correo")
    with pytest.raises(InvalidInput):
        newsletter.subscribe("ana@example.org", "fr")
    assert not Subscriber.objects.exists()
    assert smtp.received == []


def test_subscribing_needs_a_configured_server(settings):
    settings.MINGA = config.load({})
    with pytest.raises(ConfigError, match="smtp_url"):
        newsletter.subscribe("ana@example.org")


def test_cli(smtp):
    runner = CliRunner()
    added = runner.invoke(newsletter_cli, ["subscribe", "ana@example.org", "--language", "es"])
    assert added.exit_code == 0, added.output
    assert "confirmation mailed to ana@example.org" in added.output
    listed = runner.invoke(newsletter_cli, ["list"])
    assert listed.output == "ana@example.org\tes\tunconfirmed\n"
    gone = runner.invoke(newsletter_cli, ["unsubscribe", "ana@example.org"])
    assert gone.exit_code == 0
    assert not Subscriber.objects.exists()
    again = runner.invoke(newsletter_cli, ["unsubscribe", "ana@example.org"])
    assert again.exit_code == 1
    assert "not subscribed" in again.output

"""minga newsletter: subscribe, unsubscribe and list readers of the newsletter."""

from __future__ import annotations

import click


@click.group()
def newsletter() -> None:
    """Readers of the e-mail newsletter."""


@newsletter.command("subscribe")
@click.argument("email")
@click.option(
    "--language",
    type=click.Choice(["es", "en"]),
    default=None,
    help="Send only items in this language (when they exist in it). Default: every item.",
)
def subscribe(email: str, language: str | None) -> None:
    """Add a reader: they are mailed a link to confirm (double opt-in)."""
    from minga.cli import setup_django

    setup_django()
    from minga.publish import newsletter as letters

    reader = letters.subscribe(email, language or "")
    if reader.confirmed:
        click.echo(f"{reader.email} is already subscribed")
    else:
        click.echo(f"confirmation mailed to {reader.email}")


@newsletter.command("unsubscribe")
@click.argument("email")
def unsubscribe(email: str) -> None:
    """Remove a reader and the record of what they were sent."""
    from minga.cli import setup_django

    setup_django()
    from minga.publish import newsletter as letters

    if letters.unsubscribe_address(email):
        click.echo(f"{email} unsubscribed")
    else:
        raise click.ClickException(f"{email} is not subscribed")


@newsletter.command("list")
def list_readers() -> None:
    """Every reader, confirmed or not, with their language."""
    from minga.cli import setup_django

    setup_django()
    from minga.publish.models import Subscriber

    for reader in Subscriber.objects.order_by("email"):
        state = "confirmed" if reader.confirmed else "unconfirmed"
        click.echo(f"{reader.email}\t{reader.language or '*'}\t{state}")

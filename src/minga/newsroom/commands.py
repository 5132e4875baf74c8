"""minga roster: who may publish, in which role; revoking a seized key."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from minga.newsroom.roster import ROLES


@click.group()
def roster() -> None:
    """The outlet-signed roster."""


@roster.command("show")
def show() -> None:
    from minga.cli import setup_django

    setup_django()
    from minga.keys.nip19 import npub_encode
    from minga.newsroom import membership

    current = membership.current()
    for pubkey, role in sorted(current.members.items(), key=lambda kv: kv[1]):
        click.echo(f"{role:12} {npub_encode(pubkey)}")
    for revocation in current.revoked.values():
        when = datetime.fromtimestamp(revocation.revoked_at, tz=UTC).isoformat()
        click.echo(
            f"{'revoked':12} {npub_encode(revocation.pubkey)} since {when} {revocation.reason}"
        )


@roster.command("add")
@click.argument("pubkey")
@click.option("--role", type=click.Choice(ROLES), default="reporter", show_default=True)
def add(pubkey: str, role: str) -> None:
    """Put a key (npub or hex) on the roster."""
    from minga.cli import setup_django

    setup_django()
    from minga.keys.nip19 import parse_pubkey
    from minga.newsroom import membership

    event = membership.add(parse_pubkey(pubkey), role)
    click.echo(f"roster updated ({event.id})")


@roster.command("revoke")
@click.argument("pubkey")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]),
    default=None,
    help="When the key stopped being safe (UTC), e.g. when the phone was seized. Default: now.",
)
@click.option("--reason", default="", help="A note for the desk.")
def revoke(pubkey: str, since: datetime | None, reason: str) -> None:
    """Revoke a key: its events made from --since on are refused."""
    from minga.cli import setup_django

    setup_django()
    from minga.keys.nip19 import parse_pubkey
    from minga.newsroom import membership

    at = int(since.replace(tzinfo=UTC).timestamp()) if since else None
    event = membership.revoke(parse_pubkey(pubkey), at, reason)
    click.echo(f"key revoked ({event.id})")

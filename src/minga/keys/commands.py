"""minga keys: create, import, list and export the keys the node keeps."""

from __future__ import annotations

import click


@click.group()
def keys() -> None:
    """Keys the node keeps (custodial, sealed at rest)."""


@keys.command("new")
@click.option("--label", required=True, help="Who or what the key is for.")
def new(label: str) -> None:
    """Create a new key for a person and keep it."""
    from minga.cli import setup_django

    setup_django()
    from minga.events.signing import SecretKey
    from minga.keys import custody

    info = custody.keep(SecretKey.generate(), label, "person")
    click.echo(f"{info.npub}  {info.pubkey}  {label}")


@keys.command("import")
@click.option("--label", required=True)
@click.option(
    "--secret",
    prompt="secret key (nsec1…, ncryptsec1… or hex)",
    hide_input=True,
    help="Better typed at the prompt than left in shell history.",
)
@click.option("--password", default=None, help="Password of an ncryptsec key (prompted if needed).")
def import_key(label: str, secret: str, password: str | None) -> None:
    """Import an existing key (nsec, hex or NIP-49 ncryptsec) and keep it."""
    from minga.cli import setup_django

    setup_django()
    from minga.keys import custody

    if secret.strip().startswith("ncryptsec1") and password is None:
        password = click.prompt("ncryptsec password", hide_input=True)
    key = custody.parse_secret(secret, password)
    info = custody.keep(key, label, "person")
    click.echo(f"{info.npub}  {info.pubkey}  {label}")


@keys.command("list")
def list_keys() -> None:
    """List kept keys (public parts only)."""
    from minga.cli import setup_django

    setup_django()
    from minga.keys import custody

    for info in custody.listing():
        click.echo(f"{info.npub}  {info.pubkey}  {info.purpose:7} {info.label}")


@keys.command("export")
@click.argument("pubkey")
@click.option("--log-n", type=click.IntRange(16, 22), default=18, show_default=True)
def export_key(pubkey: str, log_n: int) -> None:
    """Hand a kept key to its owner as a password-encrypted ncryptsec (NIP-49)."""
    from minga.cli import setup_django

    setup_django()
    from minga.keys import custody, nip49
    from minga.keys.nip19 import parse_pubkey

    key = custody.load(parse_pubkey(pubkey))
    password = click.prompt("password for the ncryptsec", hide_input=True, confirmation_prompt=True)
    click.echo(nip49.encrypt(key.secret_bytes(), password, log_n, nip49.KEY_SECURE))

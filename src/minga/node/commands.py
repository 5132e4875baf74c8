"""minga init, serve, demo, settings."""

from __future__ import annotations

import secrets

import click

from minga import config as minga_config


@click.command()
@click.option("--outlet", "outlet_name", default="minga", show_default=True, help="Outlet name.")
@click.option(
    "--admin", "admin_name", default=None, help="Create the first admin with this user name."
)
@click.option(
    "--password",
    envvar="MINGA_ADMIN_PASSWORD",
    default=None,
    help="Admin password (default: generated and printed once).",
)
@click.option(
    "--outlet-key-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Join an existing outlet: a file holding its secret key (nsec, hex or ncryptsec;"
    " the ncryptsec password from MINGA_OUTLET_KEY_PASSWORD). For a second node of the"
    " collective.",
)
def init(
    outlet_name: str, admin_name: str | None, password: str | None, outlet_key_file: str | None
) -> None:
    """Create the data folder, keys, outlet and (optionally) the first admin."""
    import os
    from pathlib import Path

    from minga.cli import setup_django

    cfg = setup_django()
    from minga.keys.custody import parse_secret

    outlet_key = None
    if outlet_key_file:
        outlet_key = parse_secret(
            Path(outlet_key_file).read_text().strip(), os.environ.get("MINGA_OUTLET_KEY_PASSWORD")
        )
    from minga.keys.nip19 import npub_encode
    from minga.node.setup import create_admin, ensure_identity, migrate

    cfg.data_path.mkdir(parents=True, exist_ok=True)
    migrate()
    identity = ensure_identity(outlet_name, outlet_key)
    click.echo(f"data folder: {cfg.data_path}")
    click.echo(f"outlet:      {identity.outlet_name} ({npub_encode(identity.outlet)})")
    click.echo(f"node key:    {npub_encode(identity.node)}")
    if admin_name:
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        pubkey = create_admin(admin_name, password)
        click.echo(f"admin:       {admin_name} ({npub_encode(pubkey)})")
        if generated:
            click.echo(f"password:    {password}   (shown once; change it after signing in)")


@click.command()
@click.option("--host", default=None, help="Listen address (setting host).")
@click.option("--port", type=int, default=None, help="Port (setting port).")
def serve(host: str | None, port: int | None) -> None:
    """Run the node: web app, relay (/relay) and Blossom blobs, in one process."""
    from minga.cli import setup_django

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if overrides:
        import os

        for key, value in overrides.items():
            os.environ[f"MINGA_{key.upper()}"] = str(value)
    cfg = setup_django()
    from minga.node.server import run
    from minga.node.setup import collect_static, ensure_identity, migrate

    cfg.data_path.mkdir(parents=True, exist_ok=True)
    migrate()
    ensure_identity()
    collect_static()
    click.echo(f"minga node at {cfg.base_url}  relay {cfg.relay_url}")
    run(cfg)


@click.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Only create the demo data.")
def demo(port: int, host: str, no_serve: bool) -> None:
    """A demo outlet with three reporters and sample dispatches, then serve it."""
    import os

    os.environ.setdefault("MINGA_DATA_DIR", "demo-data")
    os.environ["MINGA_HOST"] = host
    os.environ["MINGA_PORT"] = str(port)
    from minga.cli import setup_django

    cfg = setup_django()
    from minga.node.demo import DEMO_PASSWORD, populate
    from minga.node.server import run
    from minga.node.setup import collect_static

    cfg.data_path.mkdir(parents=True, exist_ok=True)
    summary = populate()
    collect_static()
    from minga.publish.rebuild import build_site

    site, _report = build_site(cfg)
    lines = [
        f"demo outlet  {summary.outlet_name}  (data in {cfg.data_path})",
        f"web          {cfg.base_url}/",
        f"sign in      {cfg.base_url}/login/   admin: {summary.admin} · editor: lucia ·"
        f" reporters: rosa, teodoro — password for all: {DEMO_PASSWORD}",
        f"relay        {cfg.relay_url}",
        f"blobs        {cfg.base_url}/<sha256>  (Blossom: PUT {cfg.base_url}/upload)",
        f"events       {summary.events} signed events from {len(summary.reporters)} reporters",
        f"site         {cfg.base_url}/site/   (built in {site.out}; feeds: /site/feed.atom,"
        " /site/feed.rss, /site/feed.json; offline: /site/edition.html)",
        f"check it     minga verify {site.out}   or   minga verify {cfg.base_url}/site/",
    ]
    for name, npub, nsec in summary.reporters:
        lines.append(f"reporter     {name}: {npub}")
        lines.append(f"             demo key, to sign in a Nostr client: {nsec}")
    click.echo("\n".join(lines))
    if not no_serve:
        run(cfg)


@click.command("settings")
def settings_table() -> None:
    """List every setting with its current value and help."""
    cfg = minga_config.load()
    for setting in minga_config.SETTINGS:
        value = getattr(cfg, setting.name)
        if isinstance(value, frozenset):
            value = ",".join(str(v) for v in sorted(value))
        click.echo(f"{setting.name:28} {value!s:32} {setting.help}")

"""minga publish (build, status) and minga verify."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from minga.events.event import Event

if TYPE_CHECKING:
    from minga.publish.site.builder import BuildReport, SiteBuilder


@click.group()
def publish() -> None:
    """The outlet's site, feeds, offline editions, deploy targets and syndication."""


def _build(out: str | None = None) -> tuple[SiteBuilder, BuildReport]:
    from minga.cli import setup_django

    cfg = setup_django()
    from pathlib import Path

    from minga.publish.rebuild import build_site

    return build_site(cfg, Path(out) if out else None)


@publish.command()
@click.option("--out", type=click.Path(file_okay=False), help="Folder (default <data>/site).")
def build(out: str | None) -> None:
    """Build the whole site now (only files whose bytes change are written)."""
    from minga.publish.site.builder import describe

    builder, report = _build(out)
    click.echo(f"{builder.out}: {describe(report)} in {report.seconds:.2f} s")
    if builder.manifest is None:
        click.echo("the outlet key is not on this node: the site is not signed", err=True)


@publish.command()
def status() -> None:
    """Where the site is deployed and how each target is doing."""
    from minga.cli import setup_django

    setup_django()
    from minga.publish.deploy import status as deployments

    rows = deployments()
    if not rows:
        click.echo("no deploy targets (setting publish_targets)")
    for row in rows:
        live = row.live_version[:12] or "nothing yet"
        click.echo(f"{row.target}\n  holds {live}; newest {row.version[:12]} {row.state}")
        if row.error:
            click.echo(f"  last error: {row.error}")


@publish.command()
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
def edition(target: str) -> None:
    """Write the single-file offline edition (the latest days) to TARGET."""
    from pathlib import Path

    builder, _report = _build()
    source = builder.out / "edition.html"
    Path(target).write_bytes(source.read_bytes())
    click.echo(f"{target}: {source.stat().st_size:,} bytes")


@publish.command()
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
def zim(target: str) -> None:
    """Write the whole archive as a ZIM file (Kiwix) to TARGET."""
    from datetime import UTC, datetime
    from pathlib import Path

    from django.conf import settings

    from minga.publish.editions.zim import write_zim

    builder, _report = _build()
    catalogue = builder.catalogue
    newest = catalogue.newest()
    report = write_zim(
        builder.out,
        Path(target),
        name=f"minga_{catalogue.outlet[:12]}",
        title=catalogue.name or "minga",
        description=catalogue.about or catalogue.name or "minga",
        language=settings.MINGA.language,
        creator=catalogue.name or "minga",
        date=datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d"),
    )
    click.echo(f"{report.path}: {report.entries} entries, {report.bytes:,} bytes")


@click.command()
@click.argument("location")
@click.option("--outlet", help="The outlet's key (npub or hex) to check signatures against.")
@click.option("--relay", "relays", multiple=True, help="A relay to ask for the newest manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-store", is_flag=True, help="Do not look in this node's store.")
def verify(
    location: str, outlet: str | None, relays: tuple[str, ...], as_json: bool, no_store: bool
) -> None:
    """Check a copy of the site (a folder or an address) against the outlet's newest
    signed manifest; name every altered, missing or extra file.

    Exit status: 0 intact and current, 1 altered, missing or extra files (or an
    outdated copy), 2 when the check itself could not be done.
    """
    from minga.exceptions import MingaError
    from minga.keys.nip19 import npub_encode, parse_pubkey
    from minga.publish.verify import verify as check

    try:
        pubkey = parse_pubkey(outlet) if outlet else None
        known = [] if no_store else _local_manifests(pubkey)
        if pubkey is None and known:
            pubkey = known[0][0].pubkey
        verdict = check(location, pubkey, relays, known)
    except MingaError as exc:
        click.echo(f"minga verify: {exc.message}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(verdict.as_json(), indent=1))
    else:
        m = verdict.manifest
        click.echo(f"manifest {m.id[:16]}… signed by {npub_encode(m.pubkey)}")
        click.echo(f"  newest found in: {verdict.source}; {verdict.checked} files checked")
        if not verdict.pinned:
            click.echo("  warning: the outlet key was taken from the copy itself (use --outlet)")
        for label, paths in (
            ("altered", verdict.altered),
            ("missing", verdict.missing),
            ("extra", verdict.extra),
        ):
            for path in paths:
                click.echo(f"{label:8} {path}")
        if verdict.stale:
            click.echo("  the copy does not carry the newest manifest: it is out of date")
        click.echo("intact" if verdict.intact and not verdict.stale else "NOT intact")
    sys.exit(0 if verdict.intact and not verdict.stale else 1)


def _local_manifests(outlet: str | None) -> list[tuple[Event, str]]:
    """The newest manifest in this node's store, when run where a node lives."""
    from minga.config import load

    config = load()
    if not (config.database_url or (config.data_path / "minga.sqlite3").exists()):
        return []
    from minga.cli import setup_django

    setup_django()
    from django.db import DatabaseError

    from minga.events.filters import Filter
    from minga.newsroom.models import Outlet
    from minga.publish.manifest import ROOT_SITE
    from minga.store.query import query

    try:
        current = Outlet.current()
    except DatabaseError:  # no tables: not a node's data folder
        return []
    pubkey = outlet or (current.pubkey if current is not None else None)
    if pubkey is None:
        return []
    rows = query([Filter(kinds=frozenset([ROOT_SITE]), authors=frozenset([pubkey]), limit=1)])
    return [(row.event(), "this node's store") for row in rows]

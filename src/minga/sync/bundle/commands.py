"""minga bundle export / import: the store on a stick, a card or an attachment."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress


def _since(value: str | None) -> int | None:
    """ISO date or date-time (UTC unless it says), or unix seconds."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is neither unix seconds nor an ISO date (2026-03-01, 2026-03-01T18:00)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _part_size(value: str | None) -> int | None:
    from minga.sync.bundle.format import parse_size

    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _progress() -> Progress:
    from rich.progress import Progress

    return Progress(transient=True, disable=not sys.stderr.isatty())


@click.group()
def bundle() -> None:
    """Bundles: events and blobs in files, for when no network gets through.

    Carry them on a USB stick, an SD card, a Bluetooth share or as attachments;
    the other node imports the parts in any order.
    """


@bundle.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="The bundle file (default minga-<date>.minga); parts get .partNNN-of-MMM.minga.",
)
@click.option("--peer", help="Only what this peer lacks (relay URL of a configured peer).")
@click.option("--since", help="Only events received since (ISO date or unix seconds).")
@click.option(
    "--part-size",
    help="Split into parts of at most this size: 18M fits a 25 MB e-mail"
    " (attachments grow a third), 2G a messaging app. K/M/G = 1000s, KiB/MiB/GiB = 1024s.",
)
@click.option("--public-only", is_flag=True, help="Leave out private events and private blobs.")
def export(
    output: str | None,
    peer: str | None,
    since: str | None,
    part_size: str | None,
    public_only: bool,
) -> None:
    """Write stored events (every version) and the blobs they name into a bundle.

    A bundle is for the collective's other nodes: unless --public-only it holds
    PRIVATE events too (drafts, coordination, the roster), in clear. Carry it as
    you would carry your notebook.
    """
    from minga.cli import setup_django

    cfg = setup_django()
    from minga.blobs.storage import BlobStore
    from minga.sync.bundle.exporter import Selection, export_bundle, peer_selection

    if peer and since:
        raise click.UsageError("choose --peer or --since, not both")
    size = _part_size(part_size)
    selection = (
        peer_selection(peer, public_only)
        if peer
        else Selection(since=_since(since), public_only=public_only)
    )
    target = Path(output or f"minga-{time.strftime('%Y%m%d-%H%M%S')}.minga")
    started = time.monotonic()
    with _progress() as progress:
        events = progress.add_task("events", total=None)
        blobs = progress.add_task("blob bytes", total=None)

        def tick(what: str, n: int) -> None:
            progress.update(events if what == "events" else blobs, advance=n)

        report = export_bundle(
            target, selection, BlobStore(cfg.data_path / "blobs"), size, progress=tick
        )
    seconds = time.monotonic() - started
    for path in report.paths:
        click.echo(f"{path}  {path.stat().st_size:,} bytes")
    click.echo(
        f"{report.events} events ({report.private_events} private),"
        f" {report.blobs} blobs ({report.blob_bytes:,} bytes) in {len(report.paths)} part(s),"
        f" {seconds:.1f} s"
    )
    if report.blobs_missing:
        click.echo(
            f"{report.blobs_missing} blob(s) named by these events are not on this node:"
            " not in the bundle",
            err=True,
        )
    if report.private_events:
        click.echo("warning: the bundle holds private events, in clear", err=True)


@bundle.command("import")
@click.argument("parts", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--any-author", is_flag=True, help="Accept valid events from keys off the roster.")
@click.option("--again", is_flag=True, help="Check parts imported before again.")
def import_(parts: tuple[str, ...], any_author: bool, again: bool) -> None:
    """Import bundle parts (any order, any subset; the rest can come later).

    Every event's id and signature and every blob's sha256 are checked; a part
    that is cut short, corrupt or forged is refused whole. Safe to interrupt
    and run again: parts already in are skipped.
    """
    from minga.cli import setup_django

    cfg = setup_django()
    from minga.sync.bundle.importer import Importer

    with _progress() as progress:
        events = progress.add_task("events", total=None)
        blobs = progress.add_task("blob bytes", total=None)

        def tick(what: str, n: int) -> None:
            progress.update(events if what == "events" else blobs, advance=n)

        importer = Importer(cfg, any_author=any_author, again=again, progress=tick)
        report = importer.run([Path(p) for p in parts])
    for line in report.refused:
        click.echo(line, err=True)
    for line in report.lines():
        click.echo(line)

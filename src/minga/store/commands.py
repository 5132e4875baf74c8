"""minga events, import, export: the store as JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO

import click


@click.command()
@click.argument("filter_json", default="{}")
@click.option("--private", is_flag=True, help="Include private kinds (drafts, roster…).")
@click.option("--history", is_flag=True, help="Include superseded versions.")
def events(filter_json: str, private: bool, history: bool) -> None:
    """Print events matching a NIP-01 filter (JSON object or array of them), one per line."""
    from minga.cli import setup_django

    setup_django()
    from minga.events.filters import parse_filter
    from minga.exceptions import InvalidFilter
    from minga.store.query import query

    try:
        obj = json.loads(filter_json)
    except ValueError as exc:
        raise InvalidFilter(f"the filter is not JSON: {exc}") from exc
    filters = [parse_filter(f) for f in (obj if isinstance(obj, list) else [obj])]
    for row in query(filters, private=private, history=history):
        click.echo(row.raw)


def _lines(handle: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, 1):
        line = line.strip()
        if line:
            yield number, line


@click.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--any-author", is_flag=True, help="Accept valid events from keys off the roster.")
@click.option("--batch", type=click.IntRange(1, 20000), default=4000, show_default=True)
def import_(source: IO[str], any_author: bool, batch: int) -> None:
    """Import events from JSON lines (a file or -). Every event is verified.

    Safe to interrupt and run again: each batch is stored whole or not at all,
    and events already stored count as duplicates.
    """
    from minga.cli import setup_django

    cfg = setup_django()
    from rich.progress import Progress

    from minga.events.validate import loads_json, parse_event
    from minga.exceptions import MingaError
    from minga.newsroom.models import Outlet
    from minga.newsroom.policy import Policy
    from minga.node.runtime import limits_from
    from minga.store.ingest import Outcome, Pipeline, add_listener, remove_listener

    limits = limits_from(cfg)
    outlet = Outlet.current()
    policy = Policy(outlet.pubkey if outlet else None, open_writes=any_author or cfg.open_writes)
    policy.refresh()
    counts = {"stored": 0, "duplicate": 0, "refused": 0}

    def tally(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.stored:
                counts["stored"] += 1
            elif outcome.ok:
                counts["duplicate"] += 1
            else:
                counts["refused"] += 1
                click.echo(f"{outcome.event_id}: {outcome.message}", err=True)

    pipeline = Pipeline(batch_size=batch, threaded=True)
    # A roster event in the file changes who may publish from the next batch on.
    add_listener(policy.on_stored)
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("importing", total=None)
        for number, line in _lines(source):
            try:
                event = parse_event(loads_json(line, limits.max_json_bytes), limits, verify=False)
            except MingaError as exc:
                counts["refused"] += 1
                click.echo(f"line {number}: {exc.nostr_reason()}", err=True)
                continue
            refusal = policy.write_refusal(event)
            if refusal is not None:
                counts["refused"] += 1
                click.echo(f"line {number}: {refusal}", err=True)
                continue
            done = pipeline.add(event)
            tally(done)
            progress.update(task, advance=len(done))
        tally(pipeline.flush())
    remove_listener(policy.on_stored)
    click.echo(
        f"{counts['stored']} stored, {counts['duplicate']} already here, {counts['refused']} refused"
    )


@click.command()
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@click.option("--public-only", is_flag=True, help="Leave out private events (drafts, roster…).")
def export(output: IO[str], public_only: bool) -> None:
    """Write every stored event (every version) as JSON lines, oldest first."""
    from minga.cli import setup_django

    setup_django()
    from django.db import connection

    last = 0
    written = 0
    condition = " AND NOT private" if public_only else ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT seq, raw FROM minga_event WHERE seq > %s{condition} ORDER BY seq LIMIT 5000",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        for seq, raw in rows:
            output.write(raw + "\n")
            last = seq
            written += 1
    output.flush()
    click.echo(f"{written} events exported", err=True)

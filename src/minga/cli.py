"""The ``minga`` command. Each capability brings its own commands."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from minga import __version__
from minga.exceptions import MingaError


def setup_django() -> Any:
    """Configure Django from minga's settings (done once, on first use)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minga.web.settings")
    import django
    from django.conf import settings

    django.setup()
    from django.utils import translation

    translation.activate("en")  # the command line speaks English; pages follow the reader
    return settings.MINGA


class Group(click.Group):
    """Turns minga's own errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MingaError as exc:
            click.echo(f"minga: {exc.message}", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="minga")
@click.option(
    "--data-dir",
    envvar="MINGA_DATA_DIR",
    type=click.Path(file_okay=False),
    help="Data folder (default ./minga-data, or MINGA_DATA_DIR).",
)
def cli(data_dir: str | None) -> None:
    """minga: a newsroom node for reporting through a media blackout."""
    if data_dir:
        os.environ["MINGA_DATA_DIR"] = data_dir


def _register() -> None:
    from minga.keys.commands import keys
    from minga.newsroom.commands import roster
    from minga.node.commands import demo, init, serve, settings_table
    from minga.publish.commands import publish, verify
    from minga.publish.newsletter_cli import newsletter
    from minga.store.commands import events, export, import_
    from minga.sync.bundle.commands import bundle
    from minga.sync.mesh.commands import mesh

    commands = (init, serve, demo, settings_table, events, import_, export, keys, roster)
    for command in (*commands, publish, verify, newsletter, mesh, bundle):
        cli.add_command(command)


_register()

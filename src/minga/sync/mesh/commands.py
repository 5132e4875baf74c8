"""``minga mesh``: this node's LXMF address, and how the mesh paths are doing."""

from __future__ import annotations

import json

import click


@click.group()
def mesh() -> None:
    """Mesh radio over Reticulum/LXMF (see docs/mesh.md)."""


@mesh.command()
def address() -> None:
    """Print this node's LXMF address (creating its mesh identity on first use).

    Other nodes of the collective list it in their ``mesh_destinations``."""
    from minga import config as minga_config
    from minga.sync.mesh.transport import address_of, load_identity, mesh_dir

    cfg = minga_config.load()
    click.echo(address_of(load_identity(mesh_dir(cfg.data_path) / "identity")))


@mesh.command()
def status() -> None:
    """Each mesh destination as last seen, and the posts by state, as JSON."""
    from minga.cli import setup_django

    setup_django()
    from django.db.models import Count

    from minga.sync.models import Link, MeshPost, Role

    links = [
        {
            "url": link.url,
            "last_contact": link.last_contact,
            "last_attempt": link.last_attempt,
            "last_error": link.last_error,
            "pending_out": link.pending_out,
            "events_in": link.events_in,
            "events_out": link.events_out,
            "bytes_in": link.bytes_in,
            "bytes_out": link.bytes_out,
        }
        for link in Link.objects.filter(role=Role.MESH).order_by("url")
    ]
    posts = {
        row["state"]: row["n"]
        for row in MeshPost.objects.values("state").annotate(n=Count("pk")).order_by("state")
    }
    click.echo(json.dumps({"links": links, "posts": posts}, indent=2))

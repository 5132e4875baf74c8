"""A whole build of the site outside a running node (CLI, demo set-up)."""

from __future__ import annotations

from pathlib import Path

from minga.blobs.storage import BlobStore
from minga.config import Config
from minga.exceptions import NotFound, StoreError
from minga.newsroom.models import Outlet
from minga.publish.catalogue import Catalogue
from minga.publish.identity import outlet_key, site_folder
from minga.publish.site.builder import BuildReport, SiteBuilder
from minga.store.ingest import ingest


def build_site(config: Config, out: Path | None = None) -> tuple[SiteBuilder, BuildReport]:
    """Build the site into ``out`` (default ``<data>/site``) and store its manifest.

    Only files whose bytes change are written, so this is cheap on a site
    that is already there.
    """
    outlet = Outlet.current()
    if outlet is None:
        raise NotFound("no outlet here yet: run `minga init` first")
    builder = SiteBuilder(
        Catalogue.load(outlet.pubkey, outlet.name),
        out or site_folder(config),
        BlobStore(config.data_path / "blobs"),
        outlet_key=outlet_key(),
    )
    report = builder.build_all()
    if report.manifest is not None:
        outcome = ingest([report.manifest])[0]
        if not outcome.ok:
            raise StoreError(f"the site manifest was not stored: {outcome.message}")
    return builder, report

"""The publisher in a running node: from the desk's "publish" to the site,
the signed manifest, the deploy targets and the syndication channels.

It listens to the store. The outlet's reposts (publications), deletions
(retractions), new versions of published dispatches (corrections), profiles
(bylines) and live streams mark items as changed; one thread gathers them for
a moment, refreshes the catalogue, rebuilds only what shows them, signs the
manifest and stores it (so relays carry it), then records the deployments and
deliveries. A second thread runs those jobs, so a slow or dead network never
holds the site back.

At start the site is built whole (a file whose bytes did not change is not
touched) and jobs a crash interrupted are recovered.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from django.db import close_old_connections, connection

from minga.blobs.storage import BlobStore
from minga.config import Config
from minga.events.event import Event
from minga.events.kinds import DELETION, GENERIC_REPOST, LIVE_EVENT, LONG_FORM, METADATA, REPOST
from minga.exceptions import MingaError
from minga.newsroom.models import Outlet
from minga.publish import deploy, syndication
from minga.publish.catalogue import Catalogue
from minga.publish.identity import outlet_key, site_folder
from minga.publish.site.builder import BuildReport, SiteBuilder
from minga.store.ingest import ingest
from minga.store.prune import prune_versions

log = logging.getLogger(__name__)
GATHER_SECONDS = 0.05  # publications arriving together are built together
JOB_POLL_SECONDS = 5.0
KEEP_MANIFESTS = 5
EVERYTHING = "*"  # the outlet's own profile changed: its name is on every page
LIVE = "live"  # a live stream started or ended: the home and live pages


class Publisher:
    def __init__(self, config: Config, blobs: BlobStore, outlet: str | None) -> None:
        self.config = config
        self.blobs = blobs
        self.folder = site_folder(config)
        self.outlet = outlet or ""
        self.catalogue: Catalogue | None = None
        self.builder: SiteBuilder | None = None
        self.changes: queue.Queue[str | None] = queue.Queue()
        self.wake_jobs = threading.Event()
        self.stopping = threading.Event()
        self.ready = threading.Event()  # the first full build is done
        self.last: BuildReport | None = None
        self._threads: list[threading.Thread] = []

    # -- life -------------------------------------------------------------
    def start(self) -> None:
        for name, target in (("publisher", self._build_loop), ("publish-jobs", self._job_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        self.changes.put(None)
        self.wake_jobs.set()
        for thread in self._threads:
            thread.join(timeout=60)

    # -- what changed (store listener, in the committing thread) -------------
    def on_stored(self, events: list[Event], private: frozenset[str]) -> None:
        for key in self.keys_for(events, private):
            self.changes.put(key)

    def keys_for(self, events: Iterable[Event], private: frozenset[str]) -> set[str]:
        keys: set[str] = set()
        catalogue = self.catalogue
        for event in events:
            if event.id in private:
                continue
            if event.pubkey == self.outlet and event.kind in (GENERIC_REPOST, REPOST):
                target = event.first_tag_value("a") or event.first_tag_value("e")
                if target:
                    keys.add(target)
            elif event.pubkey == self.outlet and event.kind == DELETION:
                named = set(event.tag_values("e"))
                if catalogue is not None:
                    keys.update(
                        i.key
                        for i in list(catalogue.items.values())
                        if i.repost is not None and i.repost.id in named
                    )
            elif event.kind == LONG_FORM and event.address:
                if catalogue is not None and event.address in catalogue.items:
                    keys.add(event.address)
            elif event.kind == METADATA:
                if event.pubkey == self.outlet:
                    keys.add(EVERYTHING)
                elif catalogue is not None:
                    keys.update(i.key for i in catalogue.by_author(event.pubkey))
            elif event.kind == LIVE_EVENT:
                keys.add(LIVE)
        return keys

    # -- building -----------------------------------------------------------
    def _build_loop(self) -> None:
        try:
            self._first_build()
        except Exception:
            log.exception("the site could not be built")
        finally:
            self.ready.set()
        while True:
            first = self.changes.get()
            if first is None:
                break
            keys = {first}
            try:
                while True:
                    more = self.changes.get(timeout=GATHER_SECONDS)
                    if more is None:
                        self.stopping.set()
                        break
                    keys.add(more)
            except queue.Empty:
                pass
            try:
                self.publish(keys)
            except Exception:
                log.exception("publishing %d changes failed", len(keys))
            finally:
                close_old_connections()
            if self.stopping.is_set():
                break
        connection.close()

    def _first_build(self) -> None:
        close_old_connections()
        outlet = Outlet.current()
        if outlet is None:
            log.info("no outlet yet: nothing to publish")
            return
        self.outlet = outlet.pubkey
        self.catalogue = Catalogue.load(outlet.pubkey, outlet.name)
        key = outlet_key()
        if key is None:
            log.warning("the outlet key is not on this node: the site is built but not signed")
        self.builder = SiteBuilder(self.catalogue, self.folder, self.blobs, outlet_key=key)
        report = self.builder.build_all()
        log.info(
            "site built in %s: %d pages, %d files written (%.1f s)",
            self.folder,
            report.pages,
            report.files_written,
            report.seconds,
        )
        self._after(report, set())
        deploy.recover()
        syndication.recover()
        self.wake_jobs.set()

    def publish(self, keys: set[str]) -> BuildReport | None:
        """Rebuild what shows these items (or everything), then record the jobs."""
        if self.catalogue is None or self.builder is None:
            self._first_build()
            return self.last
        if EVERYTHING in keys:
            self.catalogue.refresh(None)
            report = self.builder.build_all()
            changed = set(self.catalogue.items)
        else:
            items = keys - {LIVE}
            changed = self.catalogue.refresh(items) if items else set()
            if LIVE in keys:
                self.catalogue.refresh_live()
            report = self.builder.update(changed | items)
        self._after(report, changed)
        return report

    def _after(self, report: BuildReport, changed: set[str]) -> None:
        self.last = report
        if report.manifest is not None:
            outcome = ingest([report.manifest])[0]
            if not outcome.ok:
                log.error("the site manifest was refused by the store: %s", outcome.message)
            elif report.manifest.address:
                prune_versions(report.manifest.address, KEEP_MANIFESTS)
            deploy.schedule(report.manifest)
        if changed and self.catalogue is not None:
            syndication.schedule(self.catalogue, changed)
        self.wake_jobs.set()

    # -- jobs ---------------------------------------------------------------
    def _job_loop(self) -> None:
        wait = JOB_POLL_SECONDS
        while not self.stopping.is_set():
            self.wake_jobs.wait(wait)
            self.wake_jobs.clear()
            if self.stopping.is_set():
                break
            try:
                close_old_connections()
                while deploy.run_due(self.folder) or syndication.run_due():
                    if self.stopping.is_set():
                        break
                due = [d for d in (deploy.due_in(), syndication.due_in()) if d is not None]
                wait = min([JOB_POLL_SECONDS * 12, *due]) if due else JOB_POLL_SECONDS * 12
            except MingaError as exc:
                log.warning("publishing jobs: %s", exc.message)
                wait = JOB_POLL_SECONDS
            except Exception:
                log.exception("publishing jobs failed")
                wait = JOB_POLL_SECONDS
        connection.close()

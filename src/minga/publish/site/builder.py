"""Building the site into a folder, whole or one change at a time.

The site is a pure function of the catalogue: ``build_all`` renders every
page, ``update(keys)`` only the pages that show those items (their page, their
reporter's and hashtags' lists and feeds, their day, the home page, the site
feeds and the newest sitemap chunk). Either way a file is written only when
its bytes change, through a temporary name and a rename, so a web server
serving the folder never sees half a file, and an incremental history ends
byte-identical to a full rebuild.

``files`` (path → sha256 of every file in the folder) is the manifest: after
each build the outlet key signs it (NIP-5A, see ``minga.publish.manifest``) and
the signed manifest is written to ``.well-known/nsite.json``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from minga.blobs.storage import BlobStore
from minga.events.event import Event
from minga.events.signing import SecretKey
from minga.exceptions import MingaError
from minga.publish import manifest as nsite
from minga.publish.catalogue import Catalogue, File, Item, tag_slug
from minga.publish.editions.single import Edition
from minga.publish.site import paths, sitemap
from minga.publish.site.feeds import Feed, Feeds
from minga.publish.site.pages import Pages
from minga.publish.site.render import Renderer
from minga.publish.targets import blossom_servers

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static" / "site"
VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
MANIFEST_FILE = nsite.MANIFEST_PATH.lstrip("/")
GLOBAL = "global"


@dataclass
class BuildReport:
    pages: int = 0  # HTML pages rendered
    written: list[str] = field(default_factory=list)  # files whose bytes changed
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    manifest: Event | None = None

    @property
    def files_written(self) -> int:
        return len(self.written)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def default_site_url() -> str:
    return str(settings.MINGA.site_url or settings.MINGA.base_url + "/site")


class SiteBuilder:
    def __init__(
        self,
        catalogue: Catalogue,
        out: Path,
        blobs: BlobStore,
        *,
        outlet_key: SecretKey | None = None,
        language: str | None = None,
        zone: str | None = None,
        site_url: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.out = Path(out)
        self.blobs = blobs
        self.outlet_key = outlet_key
        self.renderer = Renderer(
            catalogue,
            language or settings.MINGA.language,
            zone or settings.MINGA.time_zone,
            site_url or default_site_url(),
        )
        self.pages = Pages(catalogue, self.renderer)
        self.feeds = Feeds(catalogue, self.renderer.site_url)
        self.edition = Edition(catalogue, self.renderer, blobs, settings.MINGA.edition_days)
        self.edition_stale = False
        self.files: dict[str, str] = {}  # path below out -> sha256: the manifest
        self.listing = nsite.Listing()  # the same, as the manifest's sorted path tags
        self.scopes: dict[str, set[str]] = {}  # scope -> files it made
        self.blocks: dict[tuple[str, int], tuple[str, ...]] = {}  # list block -> its keys
        self.shown: dict[str, Item] = {}  # items as last rendered
        self.media_refs: dict[str, set[str]] = {}  # media path -> keys of items showing it
        self.live_shown: list[object] = []
        self._chunk_dates: dict[int, int] = {}  # sitemap chunk -> its newest change
        self.manifest: Event | None = None
        self._report = BuildReport()

    # -- writing ---------------------------------------------------------
    def _put(self, path: str, data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        target = self.out / path
        if self.files.get(path) == sha and target.is_file():
            return
        if path not in self.files and target.is_file() and nsite.file_hash(target) == sha:
            self._record(path, sha)  # already there from an earlier run
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
        self._record(path, sha)
        self._report.written.append(path)

    def _put_media(self, file: File) -> str | None:
        path = paths.media(file)
        target = self.out / path
        if self.files.get(path) == file.sha256 and target.is_file():
            return path
        source = self.blobs.path(file.sha256)
        if not source.is_file():
            log.warning("media %s is not in this node's blob store: left out", file.sha256)
            return None
        if not (target.is_file() and target.stat().st_size == source.stat().st_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                os.link(source, temporary)  # same disk: no copy, no extra space
            except OSError:
                shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            self._report.written.append(path)
        self._record(path, file.sha256)  # content-addressed: the name is the hash
        return path

    def _record(self, path: str, sha: str) -> None:
        self.files[path] = sha
        if path != MANIFEST_FILE:  # the manifest does not list itself
            self.listing.set("/" + path, sha)

    def _forget(self, path: str) -> None:
        self.files.pop(path, None)
        self.listing.drop("/" + path)

    def _remove(self, path: str) -> None:
        self._forget(path)
        target = self.out / path
        if target.is_file():
            target.unlink()
            self._report.removed.append(path)
            parent = target.parent
            while parent != self.out and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent

    def _scope(self, name: str, made: dict[str, bytes], kept: Iterable[str] = ()) -> None:
        """Write a scope's files; forget (and remove) what it made before and no longer does."""
        for path, data in made.items():
            self._put(path, data)
        now = set(made) | set(kept)
        for path in self.scopes.get(name, set()) - now:
            if not any(path in files for other, files in self.scopes.items() if other != name):
                self._remove(path)
        if now:
            self.scopes[name] = now
        else:
            self.scopes.pop(name, None)

    # -- scopes ------------------------------------------------------------
    def _item(self, item: Item | None, key: str) -> None:
        if item is None:
            self._scope(f"item:{key}", {})
            return
        page = paths.item_page(item)
        made = {page: self.pages.item(item), paths.item_events(item): self.pages.item_events(item)}
        self._report.pages += 1
        self._scope(f"item:{key}", made)

    def _media(self, keys: Iterable[str]) -> None:
        for key in keys:
            item = self.catalogue.items.get(key)
            wanted = set()
            if item is not None and item.retraction is None:
                for media in item.media:
                    for file in media.files:
                        wanted.add(file)
            names = {paths.media(f) for f in wanted}
            for path, holders in list(self.media_refs.items()):
                if key in holders and path not in names:
                    holders.discard(key)
                    if not holders:
                        del self.media_refs[path]
                        self._remove(path)
            for file in wanted:
                stored = self._put_media(file)
                if stored is not None:
                    self.media_refs.setdefault(stored, set()).add(key)

    def _list(
        self,
        scope: str,
        folder: str,
        heading: str,
        items: list[Item],
        focus: set[str],
        force: bool,
        about: str = "",
        npub: str = "",
    ) -> None:
        """A list's front page, its stable blocks (only those that changed) and feeds."""
        if not items:
            for block in [b for f, b in self.blocks if f == folder]:
                del self.blocks[(folder, block)]
            self._scope(scope, {})
            return
        chronological = items[::-1]
        # A list that fits on its front page has no blocks.
        count = math.ceil(len(chronological) / paths.BLOCK) if len(items) > paths.FRONT else 0
        made: dict[str, bytes] = {
            folder + "index.html": self.pages.listing(folder, heading, items, count, about, npub)
        }
        self._report.pages += 1
        kept = []
        for block in range(count):
            chunk = chronological[block * paths.BLOCK : (block + 1) * paths.BLOCK]
            keys = tuple(i.key for i in chunk)
            page = paths.block_page(folder, block)
            if force or self.blocks.get((folder, block)) != keys or focus.intersection(keys):
                made[page] = self.pages.block(folder, heading, block, chunk)
                self._report.pages += 1
                self.blocks[(folder, block)] = keys
            else:
                kept.append(page)
        for stale in [b for f, b in self.blocks if f == folder and b >= count]:
            del self.blocks[(folder, stale)]
        feed = Feed(folder, f"{heading} · {self.catalogue.name}", items, self.renderer.language)
        made[folder + "feed.atom"] = self.feeds.atom(feed)
        made[folder + "feed.rss"] = self.feeds.rss(feed)
        made[folder + "feed.json"] = self.feeds.json_feed(feed)
        self._scope(scope, made, kept)

    def _author(self, pubkey: str, focus: set[str], force: bool) -> None:
        author = self.catalogue.authors.get(pubkey)
        items = self.catalogue.by_author(pubkey)
        if author is None or not items:
            self._list(f"author:{pubkey}", "", "", [], focus, force)
            return
        self._list(
            f"author:{pubkey}",
            paths.author_dir(author),
            author.name,
            items,
            focus,
            force,
            about=author.about,
            npub=author.npub,
        )

    def _tag(self, slug: str, focus: set[str], force: bool) -> None:
        self._list(
            f"tag:{slug}",
            paths.tag_dir(slug),
            f"#{slug}",
            self.catalogue.by_tag(slug),
            focus,
            force,
        )

    def _day(self, day: str) -> None:
        items = self.catalogue.by_day(day)
        made = {paths.day_dir(day) + "index.html": self.pages.day(day, items)} if items else {}
        self._report.pages += len(made)
        self._scope(f"day:{day}", made)

    def _front(self, chunks_to_render: set[str] | None = None) -> None:
        """Home, archive index, site feeds and the sitemap (every chunk, or those
        holding the items with these keys and the newest)."""
        public = self.catalogue.public()
        days = [(day, len(self.catalogue.by_day(day))) for day in self.catalogue.days()]
        feed = Feed("", self.catalogue.name, public, self.renderer.language)
        made = {
            "index.html": self.pages.home(public),
            "archive/index.html": self.pages.archive(days, self.catalogue.retracted()),
            "feed.atom": self.feeds.atom(feed),
            "feed.rss": self.feeds.rss(feed),
            "feed.json": self.feeds.json_feed(feed),
        }
        self._report.pages += 2
        lists = ["index.html", "archive/index.html", "about/index.html", "live/index.html"]
        lists += [paths.day_dir(day) + "index.html" for day, _n in days]
        lists += [
            paths.author_dir(self.catalogue.authors[a]) + "index.html"
            for a in self.catalogue.publishing_authors()
        ]
        lists += [paths.tag_dir(t) + "index.html" for t in self.catalogue.tags()]
        made["sitemaps/lists.xml"] = sitemap.urlset([(self.renderer.absolute(p), 0) for p in lists])
        shown = self.catalogue.chronological()
        chunks = sitemap.item_chunks(shown)
        if chunks_to_render is not None and all(
            k in self.catalogue.items for k in chunks_to_render
        ):
            # (an item gone altogether shifts every later chunk: then all are made again)
            only = {
                bisect_left(shown, (i.published_at, i.key), key=lambda x: (x.published_at, x.key))
                // sitemap.CHUNK
                for i in (self.catalogue.items.get(k) for k in chunks_to_render)
                if i is not None
            } | {len(chunks) - 1}
        else:
            only = set(range(len(chunks)))
        for number in only:
            if number < len(chunks):
                self._chunk_dates[number] = max(i.updated_at for i in chunks[number])
        for number in [n for n in self._chunk_dates if n >= len(chunks)]:
            del self._chunk_dates[number]
        made["sitemap.xml"] = sitemap.index(
            [(self.renderer.absolute("sitemaps/lists.xml"), 0)]
            + [
                (self.renderer.absolute(sitemap.chunk_path(n)), self._chunk_dates[n])
                for n in range(len(chunks))
            ]
        )
        self._scope("front", made)
        self._sitemap_chunks(chunks, only)

    def _sitemap_chunks(self, chunks: list[list[Item]], only: set[int]) -> None:
        made = {}
        for number, chunk in enumerate(chunks):
            if number in only:
                made[sitemap.chunk_path(number)] = sitemap.chunk(
                    chunk, self.renderer.absolute, paths.item_page
                )
        kept = [
            sitemap.chunk_path(n) for n in range(len(chunks)) if sitemap.chunk_path(n) not in made
        ]
        self._scope("sitemap", made, kept)

    def _static(self) -> None:
        made = {
            "about/index.html": self.pages.about(),
            "live/index.html": self.pages.live(),
            "404.html": self.pages.not_found(),
            "static/live.js": (STATIC / "live.js").read_bytes(),
            "robots.txt": f"User-agent: *\nAllow: /\nSitemap: {self.renderer.absolute('sitemap.xml')}\n".encode(),
        }
        hls = VENDOR / "hls.light.min.js"
        if hls.is_file():
            made["static/hls.light.min.js"] = hls.read_bytes()
        else:
            log.warning(
                "hls.js is missing (run `make assets`): the live page plays native HLS only"
            )
        self._report.pages += 3
        self._scope(GLOBAL, made)
        self.live_shown = list(self.catalogue.live)

    # -- whole and incremental builds ----------------------------------------
    def build_all(self) -> BuildReport:
        """Render everything; remove whatever else is in the folder."""
        started = time.perf_counter()
        self._report = BuildReport()
        self.out.mkdir(parents=True, exist_ok=True)
        self.blocks.clear()
        with self.renderer.active():
            self.shown = dict(self.catalogue.items)
            for key, item in sorted(self.shown.items()):
                self._item(item, key)
            self._media(self.shown)
            for pubkey in sorted({i.author for i in self.catalogue.public()}):
                self._author(pubkey, set(), force=True)
            for slug in self.catalogue.tags():
                self._tag(slug, set(), force=True)
            for day in self.catalogue.days():
                self._day(day)
            self._front()
            self._static()
            self._edition()
        self._sweep()
        self._sign()
        self._report.seconds = time.perf_counter() - started
        return self._report

    def _sweep(self) -> None:
        """Remove files in the folder that no page of the site made."""
        for root, _dirs, names in os.walk(self.out):
            for name in names:
                path = os.path.relpath(os.path.join(root, name), self.out).replace(os.sep, "/")
                if path not in self.files and path != MANIFEST_FILE:
                    self._remove(path)

    def _edition(self) -> None:
        self._scope("edition", {"edition.html": self.edition.render()})
        self.edition_stale = False

    def refresh_edition(self) -> BuildReport:
        """Write the single-file edition again (after updates that left it stale)."""
        self._report = BuildReport()
        with self.renderer.active():
            self._edition()
        self._sign()
        return self._report

    def update(self, keys: Iterable[str], edition: bool = True) -> BuildReport:
        """Render again what shows these items (after ``catalogue.refresh``).

        The single-file edition holds days of items in one file: a publisher in
        a hurry passes ``edition=False`` and calls ``refresh_edition`` later.
        """
        started = time.perf_counter()
        self._report = BuildReport()
        keys = set(keys)
        with self.renderer.active():
            before = [self.shown.get(k) for k in keys]
            after = [self.catalogue.items.get(k) for k in keys]
            both = [i for i in before + after if i is not None]
            touched = set(keys)
            for item in both:  # the other languages link to this one: before and after
                if item.is_dispatch:
                    touched.update(i.key for i in self.catalogue.group(item.translation_or_self))
            for key in sorted(touched):
                current = self.catalogue.items.get(key)
                self._item(current, key)
                if current is None:
                    self.shown.pop(key, None)
                else:
                    self.shown[key] = current
            self._media(keys)
            for pubkey in sorted({i.author for i in both}):
                self._author(pubkey, keys, force=False)
            for slug in sorted({tag_slug(t) for i in both for t in i.hashtags}):
                self._tag(slug, keys, force=False)
            for day in sorted({i.day for i in both}):
                self._day(day)
            self._front(chunks_to_render=keys)
            if self.catalogue.live != self.live_shown:
                self._static()
            if edition:
                self._edition()
            else:
                self.edition_stale = True
        self._sign()
        self._report.seconds = time.perf_counter() - started
        return self._report

    # -- the manifest -------------------------------------------------------
    def _sign(self) -> None:
        if self.outlet_key is None:
            return
        servers = blossom_servers()
        created = self.catalogue.newest()
        aggregate = self.listing.aggregate()
        previous = self.manifest or self._manifest_on_disk()
        if (
            previous is not None
            and previous.first_tag_value("x") == aggregate
            and previous.tag_values("server") == servers
        ):
            if previous.created_at >= created and previous.pubkey == self.outlet_key.pubkey:
                self.manifest = previous
                return
        elif previous is not None and previous.created_at >= created:
            # Files changed with no newer event (a new version of minga renders
            # differently): the new manifest must still be the newer one.
            created = previous.created_at + 1
        self.manifest, raw = self.listing.sign(
            self.outlet_key, created, title=self.catalogue.name, servers=servers
        )
        self._put(MANIFEST_FILE, (raw + "\n").encode("utf-8"))
        self.files.pop(MANIFEST_FILE, None)
        self._report.manifest = self.manifest

    def _manifest_on_disk(self) -> Event | None:
        path = self.out / MANIFEST_FILE
        if not path.is_file():
            return None
        try:
            return nsite.parse_manifest(path.read_bytes())
        except MingaError:
            return None


def describe(report: BuildReport) -> str:
    return _("%(pages)d pages rendered, %(written)d files written, %(removed)d removed") % {
        "pages": report.pages,
        "written": report.files_written,
        "removed": len(report.removed),
    }

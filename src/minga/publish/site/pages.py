"""What each page of the site shows, rendered to bytes.

One method per kind of page; each takes only what it shows from the
catalogue, so the builder can render any single page again on its own.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from minga.publish.catalogue import Catalogue, Item, Media, tag_slug
from minga.publish.site import paths
from minga.publish.site.render import Renderer
from minga.publish.site.text import body_html, excerpt, plain


class Pages:
    def __init__(self, catalogue: Catalogue, renderer: Renderer) -> None:
        self.catalogue = catalogue
        self.r = renderer
        self._rows: dict[tuple[str, str], tuple[Item, str]] = {}

    # -- pieces ------------------------------------------------------------
    def kind_label(self, item: Item) -> str:
        if item.number is not None:
            return _("Dispatch #%(number)s") % {"number": item.number}
        return _("Note")

    def title(self, item: Item) -> str:
        if item.retraction is not None:
            return _("Retracted")
        return item.title or excerpt(plain(item.body), 80)

    def row(self, item: Item, prefix: str) -> str:
        """One line of a list (``prefix``: the way back to the root from the page).

        Lists show thousands of rows: they are written here, not by a template,
        and kept until the item changes.
        """
        cached = self._rows.get((item.key, prefix))
        if cached is not None and cached[0] is item:
            return cached[1]
        moment = self.r.clock.at(item.published_at)
        author = self.catalogue.authors.get(item.author)
        count = len(item.media)
        label = f"#{item.number}" if item.number is not None else _("Note")
        meta = [escape(author.name if author else "")]
        meta.append(f'<time datetime="{moment.iso}">{escape(moment.local)}</time>')
        if item.place:
            meta.append(escape(item.place))
        if count > 1:
            meta.append(escape(_("%(count)d files") % {"count": count}))
        lang = f' lang="{escape(item.language)}"' if item.language else ""
        href = prefix + paths.item_dir(item)
        html = (
            f'<li{lang}><span class="label">{escape(label)}</span> '
            f'<a class="t" href="{escape(href)}">{escape(self.title(item))}</a><br>'
            f'<span class="meta">{" · ".join(meta)}</span></li>'
        )
        self._rows[(item.key, prefix)] = (item, html)
        return html

    def rows(self, items: list[Item], page: str) -> SafeString:
        prefix = paths.root_of(page)
        return mark_safe("".join(self.row(item, prefix) for item in items))  # noqa: S308 - escaped

    def feeds_of(self, folder: str, page: str, title: str) -> list[dict[str, str]]:
        return [
            {"type": mime, "title": f"{title} ({name})", "href": paths.link(page, folder + file)}
            for name, mime, file in (
                ("Atom", "application/atom+xml", "feed.atom"),
                ("RSS", "application/rss+xml", "feed.rss"),
                ("JSON Feed", "application/feed+json", "feed.json"),
            )
        ]

    def media(self, media: Media, page: str) -> dict[str, Any]:
        def src(file: Any) -> str:
            return paths.link(page, paths.media(file))

        main = media.main
        shown = main
        srcset = ""
        if media.family == "image" and media.variants:
            sizes = [v for v in media.variants if v.width] + ([main] if main.width else [])
            srcset = ", ".join(f"{src(f)} {f.width}w" for f in sizes)
            fitting = [v for v in media.variants if v.width <= 1280]
            shown = fitting[-1] if fitting else main
        return {
            "family": media.family,
            "src": src(shown),
            "srcset": srcset,
            "width": main.width,
            "height": main.height,
            "alt": media.alt,
            "caption": media.caption,
            "poster": src(media.poster) if media.poster else "",
        }

    # -- pages ---------------------------------------------------------------
    def item(self, item: Item) -> bytes:
        page = paths.item_page(item)
        context: dict[str, Any] = {
            "kind_label": self.kind_label(item),
            "item_title": self.title(item) if item.number is None else self.kind_label(item),
            "events_href": "event.json",
            "feeds": self.feeds_of("", page, self.catalogue.name),
        }
        if item.retraction is not None:
            moment = self.r.clock.at(item.retraction.at)
            context["retraction"] = {
                "iso": moment.iso,
                "local": moment.local,
                "note": item.retraction.note,
            }
            context["summary"] = item.retraction.note[:200]
            return self.r.page("site/item.html", page, context)
        author = self.catalogue.authors[item.author]
        when = self.r.clock.at(item.published_at)
        context.update(
            {
                "item_title": f"{self.title(item)} ({self.kind_label(item)})"
                if item.number is not None
                else self.title(item),
                "title": self.title(item),
                "summary": item.summary or excerpt(plain(item.body), 200),
                "language": item.language,
                "place": item.place,
                "author": {
                    "name": author.name,
                    "href": paths.link(page, paths.author_dir(author) + "index.html"),
                },
                "when": {"iso": when.iso, "local": when.local, "utc": when.utc},
                "media": [self.media(m, page) for m in item.media],
                "body": mark_safe(body_html(item.body)),  # noqa: S308 - sanitised by nh3
                "tags": [
                    {"name": t, "href": paths.link(page, paths.tag_dir(tag_slug(t)) + "index.html")}
                    for t in item.hashtags
                ],
                "translations": [
                    {
                        "href": paths.link(page, paths.item_page(t)),
                        "lang": t.language,
                        "language": self.r.language_name(t.language),
                    }
                    for t in self.catalogue.translations(item)
                ],
                "corrections": [
                    {**self._moment(v.created_at), "note": v.correction}
                    for v in reversed(item.corrections)
                ],
                "history": [
                    {**self._moment(v.created_at), "note": v.correction, "id": v.id[:16]}
                    for v in item.versions
                ]
                if len(item.versions) > 1
                else [],
            }
        )
        if item.number:
            earlier = self.catalogue.item_by_number(item.number - 1)
            if earlier is not None:
                context["previous"] = {
                    "href": paths.link(page, paths.item_page(earlier)),
                    "label": self.kind_label(earlier),
                }
        return self.r.page("site/item.html", page, context)

    def _moment(self, timestamp: int) -> dict[str, str]:
        moment = self.r.clock.at(timestamp)
        return {"iso": moment.iso, "local": moment.local}

    def item_events(self, item: Item) -> bytes:
        """The signed events of an item, for anyone to verify."""
        events = [e.to_dict() for e in item.proofs]
        return (json.dumps(events, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def home(self, public: list[Item]) -> bytes:
        page = "index.html"
        tags = {slug: len(self.catalogue.by_tag(slug)) for slug in self.catalogue.tags()}
        authors = sorted(
            self.catalogue.publishing_authors(), key=lambda a: self.catalogue.authors[a].name
        )
        return self.r.page(
            "site/home.html",
            page,
            {
                "rows": self.rows(public[: paths.FRONT], page),
                "live": self.catalogue.live,
                "feeds": self.feeds_of("", page, self.catalogue.name),
                "tags": [
                    {"name": t, "href": paths.tag_dir(t)}
                    for t, _n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:40]
                ],
                "authors": [
                    {
                        "name": self.catalogue.authors[a].name,
                        "href": paths.author_dir(self.catalogue.authors[a]),
                    }
                    for a in authors
                ],
            },
        )

    def listing(
        self,
        folder: str,
        heading: str,
        items: list[Item],
        blocks: int,
        about: str = "",
        npub: str = "",
    ) -> bytes:
        """The front page of a list: its newest items, links to stable blocks."""
        page = folder + "index.html"
        return self.r.page(
            "site/list.html",
            page,
            {
                "heading": heading,
                "about": about,
                "npub": npub,
                "rows": self.rows(items[: paths.FRONT], page),
                "feeds": self.feeds_of(folder, page, heading),
                "blocks": [
                    {
                        "href": paths.link(page, paths.block_page(folder, b)),
                        "label": f"{b * paths.BLOCK + 1}–{(b + 1) * paths.BLOCK}",
                    }
                    for b in range(blocks)
                ],
            },
        )

    def block(self, folder: str, heading: str, block: int, items: list[Item]) -> bytes:
        """A stable block of a list, oldest first (see paths)."""
        page = paths.block_page(folder, block)
        first = block * paths.BLOCK + 1
        return self.r.page(
            "site/list.html",
            page,
            {
                "heading": f"{heading} ({first}–{first + len(items) - 1})",
                "rows": self.rows(items, page),
                "up": {"href": paths.link(page, folder + "index.html"), "label": heading},
            },
        )

    def day(self, day: str, items: list[Item]) -> bytes:
        folder = paths.day_dir(day)
        page = folder + "index.html"
        return self.r.page(
            "site/list.html",
            page,
            {
                "heading": self.r.clock.day_label(day),
                "rows": self.rows(items, page),
                "up": {"href": paths.link(page, "archive/index.html"), "label": _("Archive")},
            },
        )

    def archive(self, days: list[tuple[str, int]], retracted: list[Item]) -> bytes:
        page = "archive/index.html"
        return self.r.page(
            "site/archive.html",
            page,
            {
                "days": [
                    {
                        "href": paths.link(page, paths.day_dir(day) + "index.html"),
                        "iso": day,
                        "label": self.r.clock.day_label(day),
                        "count": count,
                    }
                    for day, count in days
                ],
                "retracted": self.rows(retracted, page),
                "feeds": self.feeds_of("", page, self.catalogue.name),
            },
        )

    def about(self) -> bytes:
        page = "about/index.html"
        return self.r.page(
            "site/about.html",
            page,
            {"manifest_href": paths.link(page, ".well-known/nsite.json")},
        )

    def live(self) -> bytes:
        return self.r.page("site/live.html", "live/index.html", {"live": self.catalogue.live})

    def not_found(self) -> bytes:
        # Served for any missing path: links from the root, wherever it is shown.
        return self.r.page("site/404.html", "404.html", {"canonical": "", "root": self.r.site_url})

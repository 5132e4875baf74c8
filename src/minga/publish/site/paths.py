"""Where each thing lives in the built site, and links between pages.

Every link inside the site is relative, so a copy works from any address, any
folder and straight from a disk (``file://``): a USB stick passed hand to hand
opens like the website. Feeds and the sitemap need absolute addresses and use
the ``site_url`` setting.

Long lists (a reporter's items, a hashtag's) are cut into *stable blocks* of
``BLOCK`` items counted from the oldest: block 0 holds the first hundred
ever published and never changes again once full, so publishing one item
rewrites only the newest block and the list's front page.
"""

from __future__ import annotations

from minga.publish.catalogue import Author, File, Item

BLOCK = 100
FRONT = 30  # items on a list's front page (and the home page)
FEED_ITEMS = 20


def item_dir(item: Item) -> str:
    return item.slug  # d/7/ or n/<id16>/


def item_page(item: Item) -> str:
    return item.slug + "index.html"


def item_events(item: Item) -> str:
    return item.slug + "event.json"


def author_dir(author: Author | str) -> str:
    slug = author.slug if isinstance(author, Author) else author
    return f"a/{slug}/"


def tag_dir(slug: str) -> str:
    return f"t/{slug}/"


def day_dir(day: str) -> str:
    return f"archive/{day}/"


def block_page(folder: str, block: int) -> str:
    return f"{folder}p/{block}/index.html"


def media(file: File) -> str:
    return f"media/{file.name}"


def root_of(page: str) -> str:
    """The relative prefix from ``page`` back to the site root."""
    depth = page.count("/")
    return "../" * depth


def link(page: str, target: str) -> str:
    """A relative link from ``page`` to ``target`` (a path below the root);
    folders are linked with their trailing slash (``index.html`` dropped)."""
    if target.endswith("index.html"):
        target = target[: -len("index.html")]
    return (root_of(page) + target) or "./"

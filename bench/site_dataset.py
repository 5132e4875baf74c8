"""The site-build bench's dataset: N dispatches written three ways, the same content.

``generate(n, seed)`` makes, deterministically, the dispatches a small outlet
publishes in ~90 days: ~12 reporters, titles of 40-90 characters, summaries,
Markdown bodies of 1,500-6,000 characters (paragraphs, emphasis, links, block
quotes, lists, some subheadings), 70 % Spanish and 30 % English, 1-4 hashtags
from a pool of 60, a place; ~60 % carry one photo and ~10 % two (a pool of 40
real 1600x1200 JPEGs made with Pillow, each with 320/640/1280 px variants),
~5 % are translations of an earlier dispatch. Then it is written

- into a minga store (``write_store``): reporters' kind 0 profiles, their
  kind 1063 media records, the signed kind 30023 dispatches, the outlet's
  kind 16 reposts numbered 0..N-1, the photos in the blob store; everything
  released from the embargo, so public, as after ``workflow.publish``;
- as a Pelican site (``write_pelican``): ``content/d/<n>.md`` with Markdown
  metadata, photos in ``content/images``, ``pelicanconf.py`` from
  ``bench/references/pelicanconf.py``;
- as a Hugo site (``write_hugo``): ``content/d/<n>.md`` with JSON front
  matter, photos in ``static/media``, ``config.toml`` from
  ``bench/references/hugo.toml`` and the theme in
  ``bench/references/hugo-theme``.

The reference sites list ``PER_PAGE`` items a page (index, tag and author
pages) and ``FEED_ITEMS`` items a feed; see bench/references/README.md.

    python bench/site_dataset.py --dispatches 1000 --out /tmp/sites  # Pelican + Hugo only
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REFERENCES = Path(__file__).resolve().parent / "references"
PER_PAGE = 25
FEED_ITEMS = 50
BASE_TIME = 1_767_225_600  # 2026-01-01 00:00 UTC: fixed, and in the past for Hugo
DAYS = 90
OUTLET_NAME = "La Minga"
PHOTO_WIDTHS = (320, 640, 1280)


@functools.cache
def words() -> dict[str, Any]:
    """Names, places, hashtags and phrase pools (bench/references/site_words.json)."""
    return json.loads((REFERENCES / "site_words.json").read_text())


# -- the dataset ---------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """One file of the photo pool: a clean photo or one of its smaller sizes."""

    sha256: str
    size: int
    width: int
    height: int
    path: Path

    @property
    def name(self) -> str:
        return f"{self.sha256}.jpg"


@dataclass(frozen=True)
class Photo:
    main: Image
    variants: tuple[Image, ...]

    @property
    def files(self) -> tuple[Image, ...]:
        return (self.main, *self.variants)


@dataclass
class Dispatch:
    number: int
    reporter: int
    d: str
    title: str
    summary: str
    body: str
    language: str
    city: str
    place: str
    hashtags: list[str]
    photos: list[int]  # indexes into the pool
    alts: list[str]
    created_at: int
    published_at: int
    translation_of: int | None = None

    @property
    def location(self) -> str:
        return f"{self.city}, {self.place}"

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.published_at, UTC).strftime("%Y-%m-%d")


@dataclass
class Dataset:
    seed: int
    reporters: list[str]
    reporter_secrets: list[bytes]
    outlet_secret: bytes
    photos: list[Photo]
    dispatches: list[Dispatch] = field(default_factory=list)

    def stats(self) -> dict[str, object]:
        n = len(self.dispatches)
        bodies = [len(d.body) for d in self.dispatches]
        return {
            "dispatches": n,
            "reporters": len(self.reporters),
            "spanish": sum(d.language == "es" for d in self.dispatches),
            "with_one_photo": sum(len(d.photos) == 1 for d in self.dispatches),
            "with_two_photos": sum(len(d.photos) == 2 for d in self.dispatches),
            "translations": sum(d.translation_of is not None for d in self.dispatches),
            "body_chars_mean": round(sum(bodies) / max(n, 1)),
            "body_chars_min": min(bodies, default=0),
            "body_chars_max": max(bodies, default=0),
            "distinct_hashtags": len({t for d in self.dispatches for t in d.hashtags}),
            "days": len({d.day for d in self.dispatches}),
            "photo_pool": len(self.photos),
            "photo_bytes_mean": round(sum(p.main.size for p in self.photos) / len(self.photos)),
        }


def _secret(rng: random.Random) -> bytes:
    return rng.randbytes(31) + b"\x01"  # always a valid secp256k1 key


def make_photos(folder: Path, count: int = 40, seed: int = 1) -> list[Photo]:
    """``count`` distinct 1600x1200 JPEGs (gradient, soft shapes and grain,
    150-300 KB) and their 320/640/1280 px variants, written to ``folder``."""
    import numpy as np
    from PIL import Image as PILImage

    folder.mkdir(parents=True, exist_ok=True)
    w, h = 1600, 1200
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    x = np.linspace(0.0, 1.0, w)[None, :, None]
    photos = []
    for i in range(count):
        rng = np.random.default_rng(seed * 1000 + i)
        c0, c1, c2 = (rng.uniform(0, 255, 3) for _ in range(3))
        base = c0 * (1 - x) * (1 - y) + c1 * x + c2 * y * (1 - x)
        shapes = rng.normal(0, 40, (30, 40, 3)) + 128
        soft = PILImage.fromarray(shapes.clip(0, 255).astype(np.uint8)).resize(
            (w, h), PILImage.Resampling.BICUBIC
        )
        grain = rng.normal(0, 2.0 + 2.5 * (i % 5) / 4, (h, w, 1))
        pixels = base * 0.7 + (np.asarray(soft, dtype=np.float64) - 128) + grain
        picture = PILImage.fromarray(pixels.clip(0, 255).astype(np.uint8))
        files = []
        for width in (w, *PHOTO_WIDTHS):
            sized = picture if width == w else picture.resize((width, width * h // w))
            out = io.BytesIO()
            sized.save(out, "JPEG", quality=82, optimize=True)
            data = out.getvalue()
            sha = hashlib.sha256(data).hexdigest()
            path = folder / f"{sha}.jpg"
            path.write_bytes(data)
            files.append(Image(sha, len(data), width, width * h // w, path))
        photos.append(Photo(files[0], tuple(files[1:])))
    return photos


def _sentence(phrases: dict, rng: random.Random, city: str) -> str:
    subject = rng.choice(phrases["subjects"]).format(city=city)
    text = f"{subject} {rng.choice(phrases['verbs'])} {rng.choice(phrases['objects'])}"
    return f"{text} {rng.choice(phrases['complements'])}."


def _emphasise(sentence: str, rng: random.Random, number: int, phrases: dict) -> str:
    roll = rng.random()
    parts = sentence.rstrip(".").split(" ")
    if len(parts) < 6:
        return sentence
    start = rng.randrange(0, len(parts) - 3)
    span = " ".join(parts[start : start + 3])
    before, after = " ".join(parts[:start]), " ".join(parts[start + 3 :])
    if roll < 0.15:
        span = f"**{span}**"
    elif roll < 0.25:
        span = f"*{span}*"
    elif roll < 0.33:
        span = f"[{span}](https://defensoria.example.org/reportes/{number % 997})"
    elif roll < 0.36 and number > 1:
        span = f"[{phrases['see_also']}](/d/{rng.randrange(number)}/)"
    else:
        return sentence
    return " ".join(p for p in (before, span, after) if p) + "."


def _body(phrases: dict, rng: random.Random, city: str, number: int, target: int) -> str:
    blocks: list[str] = []
    length = 0
    while length < target:
        roll = rng.random()
        if roll < 0.08 and blocks:
            block = f"## {rng.choice(phrases['headings'])}"
        elif roll < 0.18 and blocks:
            who, role_es, role_en = rng.choice(words()["people"])
            role = role_es if phrases is words()["es"] else role_en
            quote = _sentence(phrases, rng, city).rstrip(".")
            block = f"> «{quote}», {phrases['said']} {who}, {role}."
        elif roll < 0.24 and blocks:
            items = [
                f"- {c}, {p}: {rng.choice(phrases['statuses'])}"
                for c, p in rng.sample(words()["places"], rng.randrange(3, 6))
            ]
            block = "\n".join([phrases["list_intro"], "", *items])
        else:
            sentences = []
            for _ in range(rng.randrange(2, 6)):
                if rng.random() < 0.25:
                    sentences.append(rng.choice(phrases["facts"]).format(n=rng.randrange(2, 900)))
                else:
                    s = _sentence(phrases, rng, city)
                    if rng.random() < 0.3:
                        s = f"{rng.choice(phrases['connectives'])} {s[0].lower()}{s[1:]}"
                    sentences.append(_emphasise(s, rng, number, phrases))
            block = " ".join(sentences)
        blocks.append(block)
        length += len(block) + 2
    return "\n\n".join(blocks)


def _title(phrases: dict, rng: random.Random, city: str) -> str:
    while True:
        subject = rng.choice(phrases["subjects"]).format(city=city)
        title = f"{subject} {rng.choice(phrases['verbs'])} {rng.choice(phrases['objects'])}"
        if rng.random() < 0.5:
            title += f" {phrases['title_in']} {city}"
        if 40 <= len(title) <= 90:
            return title


def _summary(phrases: dict, rng: random.Random, city: str) -> str:
    subject = rng.choice(phrases["subjects"]).format(city=city)
    return rng.choice(phrases["summaries"]).format(
        subject=subject,
        subject_lc=subject[0].lower() + subject[1:],
        verb=rng.choice(phrases["verbs"]),
        object=rng.choice(phrases["objects"]),
        complement=rng.choice(phrases["complements"]),
        city=city,
    )


def make_dispatch(
    rng: random.Random,
    number: int,
    published_at: int,
    photos: int,
    original: Dispatch | None = None,
    reporters: int = 12,
) -> Dispatch:
    """One dispatch (a translation of ``original`` when given)."""
    if original is not None:
        language = "en" if original.language == "es" else "es"
        city, place = original.city, original.place
        hashtags = list(original.hashtags)
        shown = list(original.photos)
    else:
        language = "es" if rng.random() < 0.7 else "en"
        city, place = rng.choice(words()["places"])
        hashtags = rng.sample(words()["hashtags"], rng.randrange(1, 5))
        roll = rng.random()
        count = 1 if roll < 0.6 else 2 if roll < 0.7 else 0
        shown = rng.sample(range(photos), count)
    phrases = words()[language]
    subject = rng.choice(phrases["subjects"]).format(city=city)
    alts = [phrases["alt"].format(subject=subject, place=place, city=city) for _ in shown]
    return Dispatch(
        number=number,
        reporter=rng.randrange(reporters),
        d=f"{datetime.fromtimestamp(published_at, UTC):%Y%m%d}-{rng.getrandbits(40):010x}",
        title=_title(phrases, rng, city),
        summary=_summary(phrases, rng, city),
        body=_body(phrases, rng, city, number, rng.randrange(1500, 5700)),
        language=language,
        city=city,
        place=place,
        hashtags=hashtags,
        photos=shown,
        alts=alts,
        created_at=published_at - rng.randrange(600, 6 * 3600),
        published_at=published_at,
        translation_of=original.number if original is not None else None,
    )


def generate(count: int, folder: Path, seed: int = 4) -> Dataset:
    """The dataset; the photo pool is written to ``folder/photos``."""
    rng = random.Random(seed)
    dataset = Dataset(
        seed=seed,
        reporters=list(words()["reporters"]),
        reporter_secrets=[_secret(rng) for _ in words()["reporters"]],
        outlet_secret=_secret(rng),
        photos=make_photos(folder / "photos", 40, seed),
    )
    span = DAYS * 86400
    for number in range(count):
        published = BASE_TIME + int((number + rng.random()) * span / count)
        original = None
        if number > 20 and rng.random() < 0.05:
            pick = dataset.dispatches[rng.randrange(max(0, number - 200), number)]
            if pick.translation_of is None:
                original = pick
        dataset.dispatches.append(
            make_dispatch(rng, number, published, len(dataset.photos), original)
        )
    return dataset


# -- into a minga store --------------------------------------------------------


@dataclass
class StoreInfo:
    outlet: str
    editor: object  # the desk's user, for workflow.publish
    addresses: dict[int, str]  # number -> address
    seconds: float
    events: int


def media_record_tags(photo: Photo, alt: str, base_url: str) -> list[list[str]]:
    main = photo.main
    tags = [
        ["url", f"{base_url}/{main.name}"],
        ["m", "image/jpeg"],
        ["x", main.sha256],
        ["ox", hashlib.sha256(b"original:" + main.sha256.encode()).hexdigest()],
        ["size", str(main.size)],
        ["dim", f"{main.width}x{main.height}"],
        ["thumb", f"{base_url}/{photo.variants[0].name}", photo.variants[0].sha256],
        ["alt", alt],
    ]
    for v in photo.variants:
        tags.append(
            ["variant", f"{base_url}/{v.name}", v.sha256, f"{v.width}x{v.height}", "image/jpeg"]
        )
    return tags


def _imeta(photo: Photo, alt: str, base_url: str) -> list[str]:
    main = photo.main
    ox = hashlib.sha256(b"original:" + main.sha256.encode()).hexdigest()
    return [
        "imeta",
        f"url {base_url}/{main.name}",
        "m image/jpeg",
        f"x {main.sha256}",
        f"ox {ox}",
        f"dim {main.width}x{main.height}",
        f"alt {alt}",
    ]


def dispatch_tags(dispatch: Dispatch, photos: list[Photo], base_url: str) -> list[list[str]]:
    """The tags minga's reporter app puts on a dispatch (see newsroom/filing.py)."""
    return [
        ["d", dispatch.d],
        ["title", dispatch.title],
        ["summary", dispatch.summary],
        ["client", "minga"],
        ["L", "ISO-639-1"],
        ["l", dispatch.language, "ISO-639-1"],
        ["location", dispatch.location],
        *(["t", t] for t in dispatch.hashtags),
        *(
            _imeta(photos[p], alt, base_url)
            for p, alt in zip(dispatch.photos, dispatch.alts, strict=True)
        ),
    ]


def write_store(dataset: Dataset, batch_size: int = 2000) -> StoreInfo:
    """Write the dataset into the configured store (``bench.common.setup`` first):
    signed events, blobs, and the desk's records (stories, the number counter)."""
    from django.conf import settings
    from django.db import transaction

    from minga.blobs import service
    from minga.blobs.storage import BlobStore
    from minga.events.kinds import FILE_METADATA, GENERIC_REPOST, LONG_FORM, METADATA
    from minga.events.signing import SecretKey, sign_event
    from minga.keys import custody
    from minga.keys.models import Purpose
    from minga.newsroom import people
    from minga.newsroom.models import Counter, Outlet, Role, State, Story
    from minga.node.setup import ensure_identity
    from minga.store.ingest import ingest
    from minga.store.models import Release

    started = time.perf_counter()
    outlet_key = SecretKey(dataset.outlet_secret)
    keys = [SecretKey(s) for s in dataset.reporter_secrets]
    custody.vault(create=True)
    with transaction.atomic():
        custody.keep(outlet_key, OUTLET_NAME, Purpose.OUTLET)
        Outlet.objects.create(name=OUTLET_NAME, pubkey=outlet_key.pubkey)
    ensure_identity(OUTLET_NAME)  # the node key
    editor = people.create_person("editora", "una clave larga de bench", "Editora", Role.EDITOR)
    base_url = settings.MINGA.base_url
    relay = settings.MINGA.relay_url

    blobs = BlobStore(settings.MINGA.data_path / "blobs")
    for photo in dataset.photos:
        for image in photo.files:
            blobs.put(image.path.read_bytes())
    users: dict[int, set[int]] = {}
    for d in dataset.dispatches:
        users.setdefault(d.reporter, set()).update(d.photos)
    for reporter, shown in users.items():
        for p in shown:
            for image in dataset.photos[p].files:
                service.record(image.sha256, image.size, "image/jpeg", keys[reporter].pubkey)

    first = dataset.dispatches[0].created_at - 86400 if dataset.dispatches else BASE_TIME
    events = [
        sign_event(
            key,
            METADATA,
            json.dumps({"name": name, "display_name": name}, ensure_ascii=False, sort_keys=True),
            [],
            first - 86400,
        )
        for key, name in [(outlet_key, OUTLET_NAME), *zip(keys, dataset.reporters, strict=True)]
    ]
    records: dict[tuple[int, int], str] = {}
    for d in dataset.dispatches:  # one NIP-94 record per reporter and photo, first use
        for p, alt in zip(d.photos, d.alts, strict=True):
            if (d.reporter, p) not in records:
                tags = media_record_tags(dataset.photos[p], alt, base_url)
                record = sign_event(keys[d.reporter], FILE_METADATA, "", tags, d.created_at - 60)
                records[(d.reporter, p)] = record.id
                events.append(record)
    addresses: dict[int, str] = {}
    reposts: dict[str, tuple[str, int]] = {}  # address -> (repost id, number)
    for d in dataset.dispatches:
        key = keys[d.reporter]
        tags = dispatch_tags(d, dataset.photos, base_url)
        if d.translation_of is not None:
            tags.append(["a", addresses[d.translation_of], "", "translation"])
        event = sign_event(key, LONG_FORM, d.body, tags, d.created_at)
        assert event.address is not None
        addresses[d.number] = event.address
        repost = sign_event(
            outlet_key,
            GENERIC_REPOST,
            event.to_json(),
            [
                ["e", event.id, relay],
                ["p", key.pubkey],
                ["k", str(LONG_FORM)],
                ["a", event.address, relay],
                ["number", str(d.number)],
            ],
            d.published_at,
        )
        reposts[event.address] = (repost.id, d.number)
        events += [event, repost]
    # Released before they arrive, so they are stored public (as once published).
    released = [*addresses.values(), *records.values()]
    Release.objects.bulk_create(
        [Release(key=k, released_at=BASE_TIME) for k in released],
        batch_size=1000,
        ignore_conflicts=True,
    )
    for start in range(0, len(events), batch_size):
        for outcome in ingest(events[start : start + batch_size], verified=True):
            assert outcome.ok, outcome.message
    # The desk's view: each story published under its number (intake filed them).
    stories = list(Story.objects.filter(key__in=list(reposts)))
    for story in stories:
        story.state = State.PUBLISHED
        story.repost_id, story.number = reposts[story.key]
    Story.objects.bulk_update(stories, ["state", "repost_id", "number"], batch_size=1000)
    Counter.objects.update_or_create(name="dispatch", defaults={"value": len(dataset.dispatches)})
    return StoreInfo(
        outlet_key.pubkey,
        editor.user,
        addresses,
        time.perf_counter() - started,
        len(events),
    )


# -- a Pelican site ------------------------------------------------------------


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        dst.write_bytes(src.read_bytes())


def _settings_text(path: Path, per_page: int, feed_items: int) -> str:
    text = path.read_text()
    text = re.sub(r"(?m)^(DEFAULT_PAGINATION|paginate) = \d+", rf"\g<1> = {per_page}", text)
    return re.sub(r"(?m)^(FEED_MAX_ITEMS|feedItems) = \d+", rf"\g<1> = {feed_items}", text)


def _figure_html(photo: Photo, alt: str, prefix: str, src_prefix: str) -> str:
    srcset = ", ".join(f"{prefix}/{v.name} {v.width}w" for v in photo.variants)
    alt = alt.replace('"', "&quot;")
    return (
        f'<figure><img src="{src_prefix}/{photo.variants[-1].name}" srcset="{srcset}"'
        f' sizes="(max-width: 48rem) 100vw, 48rem" width="{photo.main.width}"'
        f' height="{photo.main.height}" alt="{alt}" loading="lazy">'
        f'<figcaption><a href="{src_prefix}/{photo.main.name}">{alt}</a></figcaption></figure>'
    )


def write_pelican(
    dataset: Dataset, root: Path, per_page: int = PER_PAGE, feed_items: int = FEED_ITEMS
) -> Path:
    """A Pelican project in ``root``: run ``pelican content -s pelicanconf.py``."""
    articles = root / "content" / "d"
    images = root / "content" / "images"
    articles.mkdir(parents=True)
    images.mkdir(parents=True)
    for photo in dataset.photos:
        for image in photo.files:
            _link(image.path, images / image.name)
    for d in dataset.dispatches:
        figures = [
            _figure_html(dataset.photos[p], alt, "/images", "{static}/images")
            for p, alt in zip(d.photos, d.alts, strict=True)
        ]
        meta = [
            f"Title: {d.title}",
            f"Date: {datetime.fromtimestamp(d.published_at, UTC):%Y-%m-%d %H:%M:%S}",
            f"Tags: {', '.join(d.hashtags)}",
            f"Author: {dataset.reporters[d.reporter]}",
            f"Lang: {d.language}",
            "Category: despachos",  # the default theme needs one; no category pages
            f"Slug: {d.number}",
            f"Summary: {d.summary}",
            f"Location: {d.location}",
        ]
        if d.translation_of is not None:
            meta.append(f"Translation_of: {d.translation_of}")
        text = "\n".join(meta) + "\n\n" + "\n\n".join([*figures, d.body]) + "\n"
        (articles / f"{d.number}.md").write_text(text)
    conf = _settings_text(REFERENCES / "pelicanconf.py", per_page, feed_items)
    (root / "pelicanconf.py").write_text(conf)
    return root


# -- a Hugo site ---------------------------------------------------------------


def write_hugo(
    dataset: Dataset, root: Path, per_page: int = PER_PAGE, feed_items: int = FEED_ITEMS
) -> Path:
    """A Hugo site in ``root`` using bench/references/hugo-theme: run ``hugo``."""
    articles = root / "content" / "d"
    media = root / "static" / "media"
    articles.mkdir(parents=True)
    media.mkdir(parents=True)
    for photo in dataset.photos:
        for image in photo.files:
            _link(image.path, media / image.name)
    for d in dataset.dispatches:
        front = {
            "title": d.title,
            "date": datetime.fromtimestamp(d.published_at, UTC).isoformat(),
            "slug": str(d.number),
            "summary": d.summary,
            "tags": d.hashtags,
            "authors": [dataset.reporters[d.reporter]],
            "days": [d.day],
            "locale": d.language,
            "number": d.number,
            "location": d.location,
            "photos": [
                {
                    "src": f"/media/{dataset.photos[p].variants[-1].name}",
                    "full": f"/media/{dataset.photos[p].main.name}",
                    "thumb": f"/media/{dataset.photos[p].variants[0].name}",
                    "srcset": ", ".join(
                        f"/media/{v.name} {v.width}w" for v in dataset.photos[p].variants
                    ),
                    "width": dataset.photos[p].main.width,
                    "height": dataset.photos[p].main.height,
                    "alt": alt,
                }
                for p, alt in zip(d.photos, d.alts, strict=True)
            ],
        }
        if d.translation_of is not None:
            front["translation_of"] = d.translation_of
        text = json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + d.body + "\n"
        (articles / f"{d.number}.md").write_text(text)
    (root / "content" / "archive.md").write_text(
        json.dumps(
            {
                "title": "Archivo",
                "layout": "archive",
                "url": "/archive/",
                "_build": {"list": "never"},  # a page, not an item of the lists
            }
        )
        + "\n"
    )
    (root / "content" / "days").mkdir()
    (root / "content" / "days" / "_index.md").write_text(
        json.dumps({"title": "Días", "cascade": {"outputs": ["html"]}}) + "\n"
    )
    conf = _settings_text(REFERENCES / "hugo.toml", per_page, feed_items)
    conf = conf.replace("@THEMES_DIR@", str(REFERENCES))
    (root / "config.toml").write_text(conf)
    return root


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dispatches", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True, help="an empty or new folder")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = generate(args.dispatches, args.out, args.seed)
    write_pelican(dataset, args.out / "pelican")
    write_hugo(dataset, args.out / "hugo")
    print(json.dumps(dataset.stats(), indent=2))


if __name__ == "__main__":
    main()

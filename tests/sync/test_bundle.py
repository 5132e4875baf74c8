"""Bundles end to end: export from one store, import into another, hostile files refused.

The round trips go into a second node (its own data folder and database, the
collective's outlet key) through the real `minga` command; the hostile cases
import into the test store itself and check that nothing at all changed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.conf import settings
from django.db import connection

from minga.cli import cli
from minga.events import SecretKey, sign_event
from minga.exceptions import InvalidBundle
from minga.keys import nip19
from minga.sync.bundle import format as fmt
from minga.sync.bundle.importer import Importer
from minga.sync.models import Link, Role
from tests.sync.bundles import (
    blob_files,
    fill,
    media_event,
    sha256,
    snapshot,
    write_bundle,
)

pytestmark = pytest.mark.django_db(transaction=True)


def export(*args: str) -> str:
    done = CliRunner().invoke(cli, ["bundle", "export", *args], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def fresh_node(node_process, newsroom, tmp_path):
    """A second node of the same collective: same outlet key, its own store."""
    key_file = tmp_path / "outlet.nsec"
    key_file.write_text(nip19.nsec_encode(newsroom.outlet_key.hex()))
    node_process.minga("init", "--outlet", "Prueba", "--outlet-key-file", str(key_file))
    return node_process


def node_ids(node) -> set[str]:
    done = node.minga("export")
    return {json.loads(line)["id"] for line in done.stdout.splitlines()}


def store_ids() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM minga_event")
        return {row[0] for row in cursor.fetchall()}


def test_round_trip_in_parts_in_any_order(newsroom, node_process, tmp_path):
    reporter = newsroom.member()
    content = fill(reporter, notes=40, blob_sizes=(2_500_000, 3000))
    out = tmp_path / "out" / "lima.minga"
    out.parent.mkdir()
    said = export("-o", str(out), "--part-size", "1MiB")
    parts = sorted(out.parent.glob("lima.part*-of-*.minga"))
    assert len(parts) >= 3  # the big photo spans parts
    assert all(p.stat().st_size <= 1 << 20 for p in parts)
    assert "2 blobs" in said
    assert "private" in said  # the roster is private: the export says the file holds it

    node = fresh_node(node_process, newsroom, tmp_path)
    shuffled = list(parts)
    random.Random(5).shuffle(shuffled)
    done = node.minga("bundle", "import", *map(str, shuffled))
    assert "0 refused" in done.stdout, done.stdout + done.stderr
    assert "2 blobs stored" in done.stdout
    assert "the bundle is complete on this node" in done.stdout
    assert {e.id for e in content["events"]} <= node_ids(node)
    assert store_ids() <= node_ids(node)  # every version, the roster, the profile
    for sha, data in content["blobs"].items():
        path = node.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
        assert sha256(path.read_bytes()) == sha
        assert path.read_bytes() == data

    again = node.minga("bundle", "import", *map(str, parts))
    assert "nothing new" in again.stdout
    assert "0 events stored" in again.stdout
    checked = node.minga("bundle", "import", "--again", *map(str, parts))
    assert "0 events stored" in checked.stdout
    assert "0 blobs stored, 2 already here" in checked.stdout


def test_parts_across_several_imports_and_after_kill(newsroom, node_process, tmp_path):
    reporter = newsroom.member()
    # Hex halves under zlib: 5,000 events of ~1.4 kB fill several 1 MB parts.
    notes = [sign_event(reporter, 1, os.urandom(600).hex(), [["t", "x"]]) for _ in range(5000)]
    from minga.store.ingest import ingest

    ingest(notes)
    out = tmp_path / "b.minga"
    export("-o", str(out), "--part-size", "1M")
    parts = sorted(tmp_path.glob("b.part*-of-*.minga"))
    assert len(parts) >= 5
    node = fresh_node(node_process, newsroom, tmp_path)

    # Parts 2 and 4 alone: the roster that names the reporter is in part 1, so
    # their events are refused for now and the parts stay to be imported again.
    early = node.minga("bundle", "import", str(parts[3]), str(parts[1]))
    assert "imported now: parts 2, 4" in early.stdout
    assert "0 events stored" in early.stdout
    assert "blocked: this key is not on the outlet's roster" in early.stderr
    assert f"still missing: parts {', '.join(str(i) for i in range(1, len(parts) + 1))}" in (
        early.stdout
    )
    first = node.minga("bundle", "import", str(parts[2]), str(parts[0]))
    assert "imported now: parts 1, 3" in first.stdout
    assert "0 refused" in first.stdout
    assert "still missing: parts 2, 4, 5" in first.stdout

    # Kill the next import as soon as one more part is in; the rest follows.
    journal = next((node.data_dir / "bundles").glob("*/journal.json"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "minga", "bundle", "import", *map(str, parts)],
        env=node.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if len(json.loads(journal.read_text())["done"]) > 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    rest = node.minga("bundle", "import", *map(str, parts))
    assert "imported before (skipped): parts" in rest.stdout
    assert "the bundle is complete on this node" in rest.stdout
    held = node_ids(node)
    assert {e.id for e in notes} <= held
    assert len(node.minga("export").stdout.splitlines()) == len(held)  # no duplicates


def test_peer_and_since_choose_what_is_missing(newsroom, tmp_path):
    reporter = newsroom.member()
    old = fill(reporter, notes=5, blob_sizes=())["events"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE minga_event SET received_at = 1000")
    new = fill(reporter, notes=3, blob_sizes=(500,))["events"]
    Link.objects.create(url="ws://10.0.0.2:8000/relay", role=Role.PEER, synced_until=1000)

    def ids_in(path: Path) -> set[str]:
        from minga.sync.bundle.reader import EventLines, PartReader

        found = set()
        for record in PartReader(path).records():
            if isinstance(record, EventLines):
                found |= {json.loads(line)["id"] for line in record.lines}
        return found

    export("-o", str(tmp_path / "peer.minga"), "--peer", "ws://10.0.0.2:8000/relay/")
    assert ids_in(tmp_path / "peer.minga") == {e.id for e in new}
    export("-o", str(tmp_path / "since.minga"), "--since", "1970-01-01T00:20:00")
    assert ids_in(tmp_path / "since.minga") == {e.id for e in new}
    export("-o", str(tmp_path / "all.minga"))
    assert {e.id for e in old + new} <= ids_in(tmp_path / "all.minga")
    unknown = CliRunner().invoke(cli, ["bundle", "export", "--peer", "ws://nope/relay"])
    assert unknown.exit_code == 1
    assert "no peer ws://nope/relay is known here" in unknown.output


def test_public_only_leaves_private_events_and_blobs_out(newsroom, tmp_path):
    reporter = newsroom.member()
    fill(reporter, notes=2, blob_sizes=())
    said = export("-o", str(tmp_path / "p.minga"), "--public-only")
    assert "(0 private)" in said
    assert "warning" not in said


# -- refusals that are not hostile -------------------------------------------------


def test_policy_refusals_are_reported_and_the_part_can_come_again(newsroom, tmp_path):
    reporter = newsroom.member()
    stranger = SecretKey.generate()
    good = sign_event(reporter, 1, "de la red")
    bad = sign_event(stranger, 1, "de fuera")
    data = os.urandom(2000)
    orphan = os.urandom(100)  # its event is refused: the blob stays out
    photo = media_event(stranger, sha256(orphan), len(orphan))
    parts = write_bundle(
        tmp_path / "x.minga",
        [good, bad, photo],
        {sha256(data): (data, good.id), sha256(orphan): (orphan, photo.id)},
    )
    report = Importer(settings.MINGA).run(parts)
    assert report.stored == 1
    assert len(report.refused) == 2
    assert "blocked" in report.refused[0]
    # The good event does not name `data`, so it is held back too.
    assert report.blobs_stored == 0
    assert len(report.blobs_held) == 2
    assert report.missing == [1]  # not marked done: importing it again retries
    assert sha256(data) not in blob_files()


# -- hostile bundles ------------------------------------------------------------------


@pytest.fixture
def bundle(newsroom, tmp_path):
    """A valid one-part bundle of new events and a photo, not yet imported."""
    reporter = newsroom.member()
    data = os.urandom(50_000)
    photo = media_event(reporter, sha256(data), len(data))
    events = [sign_event(reporter, 1, f"n {n}") for n in range(20)] + [photo]
    (path,) = write_bundle(tmp_path / "b.minga", events, {sha256(data): (data, photo.id)})
    return {"path": path, "reporter": reporter, "events": events, "data": data, "photo": photo}


def refused(paths: list[Path], match: str) -> None:
    before = snapshot()
    with pytest.raises(InvalidBundle, match=match):
        Importer(settings.MINGA).run(paths)
    assert snapshot() == before


def test_the_valid_bundle_imports(bundle):
    report = Importer(settings.MINGA).run([bundle["path"]])
    assert report.stored == 21
    assert report.blobs_stored == 1


def mutate(path: Path, at: int, value: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[at : at + len(value)] = value
    path.write_bytes(bytes(data))


def test_truncated_part(bundle):
    path = bundle["path"]
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) - fmt.END_SIZE, len(data) // 2, fmt.HEADER_SIZE, 10):
        path.write_bytes(data[:cut])
        refused([path], "truncated|shorter than a part header")


def test_wrong_magic_or_version_or_header(bundle):
    path = bundle["path"]
    original = path.read_bytes()
    mutate(path, 0, b"PK\x03\x04")  # a zip file (with its paths) is not a bundle
    refused([path], "not a minga bundle")
    path.write_bytes(original)
    mutate(path, 8, b"\x00\x02")
    refused([path], "version 2 is not supported")
    path.write_bytes(original)
    mutate(path, 14, b"\x00\x00\x00\x09")  # part count changed: the header checksum catches it
    refused([path], "header is corrupt")


def test_corrupt_byte_and_record_length_beyond_the_file(bundle):
    path = bundle["path"]
    original = path.read_bytes()
    mutate(path, len(original) // 2, bytes([original[len(original) // 2] ^ 0xFF]))
    refused([path], "corrupt|altered")
    path.write_bytes(original)
    mutate(path, fmt.HEADER_SIZE + 1, (5_000_000).to_bytes(4, "big"))
    refused([path], "truncated")
    path.write_bytes(original)
    mutate(path, fmt.HEADER_SIZE + 1, (fmt.MAX_RECORD + 1).to_bytes(4, "big"))
    refused([path], "over the limit")
    path.write_bytes(original + b"more")
    refused([path], "bytes after its end record")


def _bundle_with_events_payload(path: Path, payload: bytes) -> Path:
    """A part whose one EVENTS record carries ``payload`` (checksums all correct)."""
    record = fmt.pack_record(fmt.EVENTS, payload)
    import hashlib

    end = fmt.END_BODY.pack(1, hashlib.sha256(record).digest())
    path.write_bytes(
        fmt.pack_header(os.urandom(16), 1, 1, 0) + record + fmt.pack_record(fmt.END, end)
    )
    return path


def test_decompression_bombs(newsroom, tmp_path):
    bomb = zlib.compress(b"\0" * (64 << 20), 9)  # 64 MiB of zeros in ~64 kB
    lying = _bundle_with_events_payload(tmp_path / "a.minga", fmt.EVENTS_HEAD.pack(1000, 1) + bomb)
    refused([lying], "does not inflate to the size it declares")
    big = _bundle_with_events_payload(
        tmp_path / "b.minga", fmt.EVENTS_HEAD.pack(64 << 20, 1) + bomb
    )
    refused([big], "inflates to 67108864 bytes")


def test_forged_signature_refuses_the_whole_part(bundle, tmp_path):
    events = list(bundle["events"])
    victim = events[5]
    other = sign_event(bundle["reporter"], 1, "otra")
    forged = type(victim)(
        *[getattr(victim, f) for f in ("id", "pubkey", "created_at", "kind", "tags", "content")],
        other.sig,
    )
    events[5] = forged
    parts = write_bundle(tmp_path / "f.minga", events)
    refused(parts, f"event {victim.id} has a forged signature")
    assert victim.id not in store_ids()
    assert events[0].id not in store_ids()


def test_altered_event_and_oversized_event(bundle, tmp_path):
    events = list(bundle["events"])
    raw = json.loads(events[3].to_json())
    raw["content"] = "alterado"
    altered = type(events[3])(**raw)
    parts = write_bundle(tmp_path / "a.minga", [*events[:3], altered])
    refused(parts, "id does not match")
    huge = sign_event(bundle["reporter"], 1, "x" * (settings.MINGA.max_content_chars + 1))
    parts = write_bundle(tmp_path / "h.minga", [*events[:3], huge])
    refused(parts, "content is longer than")


def test_blob_that_is_not_what_its_name_says(bundle, tmp_path):
    photo, data = bundle["photo"], bundle["data"]
    fake = bytearray(data)
    fake[0] ^= 1
    parts = write_bundle(
        tmp_path / "x.minga", bundle["events"], {sha256(data): (bytes(fake), photo.id)}
    )
    refused(parts, "bytes do not match its sha256")


def test_spanning_blob_whose_pieces_do_not_match(bundle, tmp_path):
    photo = bundle["photo"]
    data = os.urandom(1_500_000)
    wrong = bytearray(data)
    wrong[-1] ^= 1
    event = media_event(bundle["reporter"], sha256(data), len(data))
    parts = write_bundle(
        tmp_path / "s.minga", [photo, event], {sha256(data): (bytes(wrong), event.id)}, 1 << 20
    )
    assert len(parts) == 2
    Importer(settings.MINGA).run(parts[:1])  # the events and the first piece
    refused(parts[1:], "pieces, joined, do not match")


def test_mixed_and_duplicate_parts(bundle, tmp_path):
    other = write_bundle(tmp_path / "o.minga", bundle["events"][:2])
    refused([bundle["path"], *other], "belongs to another bundle")
    copy = tmp_path / "copy.minga"
    copy.write_bytes(bundle["path"].read_bytes())
    refused([bundle["path"], copy], "are both part 1")


def test_no_paths_in_a_bundle(bundle):
    """Blobs are named by 32 raw bytes of sha256 and nothing else: no name, no path.

    Whatever a part holds, the only files an import leaves are under the blob
    store (by hash) and the bundle folder (by bundle id)."""
    root = settings.MINGA.data_path

    def files() -> set[Path]:
        return {p for p in root.rglob("*") if p.is_file() and "sqlite3" not in p.name}

    before = files()
    Importer(settings.MINGA).run([bundle["path"]])
    new = files() - before
    assert new
    assert all(p.is_relative_to(root / "blobs") or p.is_relative_to(root / "bundles") for p in new)

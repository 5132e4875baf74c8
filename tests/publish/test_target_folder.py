"""The folder target against a real file system: what is there afterwards."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.conf import settings

from minga.events.signing import SecretKey
from minga.exceptions import PublishError, RetryLater
from minga.publish.manifest import MANIFEST_PATH
from minga.publish.targets import Report, target_for
from minga.publish.targets.folder import TMP_MARK
from tests.publish.sites import BASE_TIME, build, files_v1, files_v2, tree

KEY = SecretKey.from_hex("7f" * 32)


def expected(site) -> dict[str, bytes]:
    return {**site.files, MANIFEST_PATH: site.manifest_file}


def test_first_deploy_copies_the_site_and_its_manifest(tmp_path):
    site = build(tmp_path / "site", KEY)
    target = target_for(f"folder:{tmp_path / 'www'}")
    report = target.deploy(site.root, site.manifest, None)
    assert tree(tmp_path / "www") == expected(site)
    assert report == Report(
        files_sent=len(site.files), bytes_sent=sum(map(len, site.files.values())), files_deleted=0
    )
    leftovers = [p for p in (tmp_path / "www").rglob("*") if TMP_MARK in p.name]
    assert leftovers == []
    mask = os.umask(0)
    os.umask(mask)
    mode = stat.S_IMODE((tmp_path / "www" / "index.html").stat().st_mode)
    assert mode == 0o644 & ~mask  # readable by the web server's user


def test_incremental_deploy_sends_only_what_changed_and_removes_what_went(tmp_path):
    www = tmp_path / "www"
    target = target_for(f"folder:{www}")
    v1 = build(tmp_path / "site", KEY)
    target.deploy(v1.root, v1.manifest, None)
    v2 = build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    report = target.deploy(v2.root, v2.manifest, v1.manifest)
    changed = [p for p, b in v2.files.items() if v1.files.get(p) != b]
    assert len(changed) == 4  # front page, feed, new dispatch, new photo
    assert report == Report(
        files_sent=4, bytes_sent=sum(len(v2.files[p]) for p in changed), files_deleted=1
    )
    assert tree(www) == expected(v2)
    assert not (www / "feed.json").exists()

    again = target.deploy(v2.root, v2.manifest, v2.manifest)
    assert again == Report()
    assert tree(www) == expected(v2)


def test_damaged_or_missing_files_are_repaired_on_the_next_deploy(tmp_path):
    www = tmp_path / "www"
    site = build(tmp_path / "site", KEY)
    target = target_for(f"folder:{www}")
    target.deploy(site.root, site.manifest, None)
    page = www / "d" / "0" / "index.html"
    data = bytearray(page.read_bytes())
    data[20] ^= 0x01  # one flipped bit, same size
    page.write_bytes(bytes(data))
    (www / "feed.atom").unlink()
    (www / "static").rename(www / "static-moved")
    report = target.deploy(site.root, site.manifest, site.manifest)
    assert report.files_sent == 3
    assert report.files_deleted == 1  # the moved stylesheet, under a path not listed
    assert tree(www) == expected(site)


def test_first_deploy_into_a_folder_with_other_things(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the site's")
    www = tmp_path / "www"
    (www / "old" / "deep").mkdir(parents=True)
    (www / "old" / "deep" / "page.html").write_text("old site")
    (www / "index.html").write_text("an older front page")
    (www / "linked-dir").symlink_to(outside, target_is_directory=True)
    (www / "d").symlink_to(outside, target_is_directory=True)  # where the site needs a folder
    (www / "feed.atom").symlink_to(outside / "keep.txt")  # where the site needs a file
    (www / f".index.html{TMP_MARK}0123abcd").write_text("half a file from a crash")
    site = build(tmp_path / "site", KEY)

    target_for(f"folder:{www}").deploy(site.root, site.manifest, None)

    assert tree(www) == expected(site)
    assert sorted(p.name for p in www.iterdir()) == [
        ".well-known", "d", "feed.atom", "feed.json", "index.html", "media", "static",
    ]  # fmt: skip
    assert not (www / "d").is_symlink()
    # Links were removed, never followed: what they pointed at is intact.
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "not the site's"


def test_a_site_changing_mid_way_is_retried_and_completes(tmp_path):
    www = tmp_path / "www"
    site = build(tmp_path / "site", KEY)
    target = target_for(f"folder:{www}")
    hidden = site.root / "feed.atom"
    data = hidden.read_bytes()
    hidden.unlink()  # the builder is rewriting this file right now
    with pytest.raises(RetryLater):
        target.deploy(site.root, site.manifest, None)
    hidden.write_bytes(data)
    report = target.deploy(site.root, site.manifest, None)
    assert tree(www) == expected(site)
    assert report.files_sent == len(site.files)  # site_files checks all before copying

    (site.root / "index.html").write_bytes(b"rebuilt meanwhile")
    with pytest.raises(RetryLater, match="changed"):
        target.deploy(site.root, site.manifest, site.manifest)
    assert tree(www) == expected(site)  # the good copy stays in place


def test_a_site_folder_holding_another_manifest_is_not_mixed(tmp_path):
    old = build(tmp_path / "site", KEY)
    build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    with pytest.raises(RetryLater, match="another version"):
        target_for(f"folder:{tmp_path / 'www'}").deploy(old.root, old.manifest, None)


@pytest.mark.parametrize(
    "where",
    [
        "/",
        "/etc",
        "/var/www",
        "~",
        "~/..",
        "DATA",
        "DATA/..",
        "DATA/blobs",
        "SITE",
        "SITE/..",
        "SITE/static",
        "GIT",
    ],
)
def test_unsafe_folders_are_refused_and_nothing_is_touched(tmp_path, where):
    site = build(tmp_path / "site", KEY)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "README").write_text("mine")
    before = tree(tmp_path, skip=())
    path = (
        where.replace("~", str(Path.home()))
        .replace("DATA", str(settings.MINGA.data_path))
        .replace("SITE", str(site.root))
        .replace("GIT", str(tmp_path / "repo"))
    )
    with pytest.raises(PublishError) as refused:
        target_for(f"folder:{path}").deploy(site.root, site.manifest, None)
    assert not isinstance(refused.value, RetryLater)
    assert tree(tmp_path, skip=()) == before


def test_manifest_paths_cannot_leave_the_folder(tmp_path):
    from minga.publish.manifest import sign_manifest

    site = build(tmp_path / "site", KEY)
    bad = sign_manifest(KEY, {"/../escape.html": "0" * 64}, BASE_TIME)
    (site.root / MANIFEST_PATH.lstrip("/")).write_text(bad.to_json())
    with pytest.raises(PublishError, match="unusable path"):
        target_for(f"folder:{tmp_path / 'www' / 'in'}").deploy(site.root, bad, None)
    assert not (tmp_path / "www" / "escape.html").exists()


def test_files_v1_has_the_parts_of_a_real_site():
    paths = files_v1()
    assert {"/index.html", "/d/0/index.html", "/feed.atom"} <= paths.keys()
    assert any(p.startswith("/media/") and p.endswith(".jpg") for p in paths)

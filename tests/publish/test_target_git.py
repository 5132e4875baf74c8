"""The git target with the real git program: a bare repository on disk, and
git's own daemon on a loopback port for a remote that goes away."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from minga.events.signing import SecretKey
from minga.exceptions import PublishError, RetryLater
from minga.keys import nip19
from minga.publish.manifest import MANIFEST_PATH
from minga.publish.targets import Report, target_for
from minga.publish.targets.git import GitTarget
from tests.fixtures import free_port
from tests.publish.sites import BASE_TIME, build, files_v2, tree

KEY = SecretKey.from_hex("6e" * 32)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Otra", "-c", "user.email=otra@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def bare(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--bare")
    return path


def checkout(remote: Path, where: Path, branch: str = "gh-pages") -> Path:
    git(remote.parent, "clone", "--quiet", "--branch", branch, str(remote), str(where))
    return where


def published(site) -> dict[str, bytes]:
    return {**site.files, MANIFEST_PATH: site.manifest_file, "/.nojekyll": b""}


def test_first_deploy_makes_the_branch_hold_the_site(tmp_path):
    remote = bare(tmp_path / "pages.git")
    site = build(tmp_path / "site", KEY)
    target = target_for(f"git:{remote}")
    assert isinstance(target, GitTarget)
    assert target.branch == "gh-pages"
    report = target.deploy(site.root, site.manifest, None)
    assert report == Report(
        files_sent=len(site.files), bytes_sent=sum(map(len, site.files.values())), files_deleted=0
    )
    clone = checkout(remote, tmp_path / "clone")
    assert tree(clone) == published(site)
    message = git(clone, "log", "-1", "--format=%B")
    assert site.manifest.id in message
    assert site.aggregate in message
    assert nip19.npub_encode(KEY.pubkey) in message
    assert git(clone, "log", "-1", "--format=%at %ct").split() == [str(BASE_TIME)] * 2
    assert target.work_tree.is_relative_to(settings.MINGA.data_path / "publish" / "git")


def test_incremental_deploys_and_an_idempotent_one(tmp_path):
    remote = bare(tmp_path / "pages.git")
    target = target_for(f"git:{remote}#pages")
    v1 = build(tmp_path / "site", KEY)
    target.deploy(v1.root, v1.manifest, None)
    v2 = build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    report = target.deploy(v2.root, v2.manifest, v1.manifest)
    changed = [p for p, b in v2.files.items() if v1.files.get(p) != b]
    assert report == Report(
        files_sent=4, bytes_sent=sum(len(v2.files[p]) for p in changed), files_deleted=1
    )
    assert target.deploy(v2.root, v2.manifest, v2.manifest) == Report()
    clone = checkout(remote, tmp_path / "clone", "pages")
    assert tree(clone) == published(v2)
    assert len(git(clone, "log", "--format=%H").split()) == 2
    names = git(clone, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert "D\tfeed.json" in names


def test_the_same_version_is_the_same_commit(tmp_path):
    site = build(tmp_path / "site", KEY)
    heads = []
    for name in ("a.git", "b.git"):
        remote = bare(tmp_path / name)
        target_for(f"git:{remote}").deploy(site.root, site.manifest, None)
        heads.append(git(remote, "rev-parse", "gh-pages").strip())
    assert heads[0] == heads[1]


def test_work_pushed_by_someone_else_is_kept_in_history(tmp_path):
    remote = bare(tmp_path / "pages.git")
    target = target_for(f"git:{remote}")
    v1 = build(tmp_path / "site", KEY)
    target.deploy(v1.root, v1.manifest, None)
    other = checkout(remote, tmp_path / "other")
    (other / "CNAME").write_text("noticias.example.org\n")
    (other / "README.md").write_text("notes\n")
    git(other, "add", "CNAME", "README.md")
    git(other, "commit", "--quiet", "-m", "custom domain")
    git(other, "push", "--quiet", "origin", "gh-pages")
    theirs = git(other, "rev-parse", "HEAD").strip()

    v2 = build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    target.deploy(v2.root, v2.manifest, v1.manifest)

    clone = checkout(remote, tmp_path / "clone")
    git(clone, "merge-base", "--is-ancestor", theirs, "HEAD")  # no force push
    assert git(clone, "rev-parse", "HEAD^").strip() == theirs
    assert tree(clone) == {**published(v2), "/CNAME": b"noticias.example.org\n"}


class RacingTarget(GitTarget):
    """Someone pushes between our fetch and our push, once."""

    def __init__(self, *args, rival: Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rival = rival
        self.raced = 0

    def _fetch(self, repo: Path) -> None:
        super()._fetch(repo)
        if not self.raced:
            self.raced += 1
            (self.rival / "late.txt").write_text(f"{self.raced}\n")
            git(self.rival, "add", "late.txt")
            git(self.rival, "commit", "--quiet", "-m", "late")
            git(self.rival, "push", "--quiet", "origin", "gh-pages")


def test_a_push_rejected_because_the_remote_moved_is_redone_on_top(tmp_path):
    remote = bare(tmp_path / "pages.git")
    v1 = build(tmp_path / "site", KEY)
    url = f"git:{remote}"
    target_for(url).deploy(v1.root, v1.manifest, None)
    rival = checkout(remote, tmp_path / "rival")
    racing = RacingTarget(url, str(remote), "gh-pages", rival=rival)
    v2 = build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    racing.deploy(v2.root, v2.manifest, v1.manifest)
    assert racing.raced == 1
    clone = checkout(remote, tmp_path / "clone")
    late = git(rival, "rev-parse", "HEAD").strip()
    assert git(clone, "rev-parse", "HEAD^").strip() == late
    assert tree(clone) == published(v2)  # the rival's file is not part of the site


@pytest.fixture
def daemon(tmp_path) -> Iterator[tuple[str, Path, tuple[Any, Any]]]:
    """``git daemon`` serving tmp_path/served over git:// (pushes allowed)."""
    served = tmp_path / "served"
    remote = bare(served / "pages.git")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        proc = subprocess.Popen(
            [
                "git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
                f"--base-path={served}", "--listen=127.0.0.1", f"--port={port}", str(served),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 20
        while subprocess.run(
            ["git", "ls-remote", f"git://127.0.0.1:{port}/pages.git"],
            capture_output=True,
            check=False,
        ).returncode:
            assert time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.1)

    def stop() -> None:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        procs.clear()

    start()
    try:
        yield f"git://127.0.0.1:{port}/pages.git", remote, (start, stop)
    finally:
        stop()


def test_a_remote_that_goes_away_is_retried_then_deploy_completes(tmp_path, daemon):
    url, remote, (start, stop) = daemon
    target = target_for(f"git:{url}")
    v1 = build(tmp_path / "site", KEY)
    target.deploy(v1.root, v1.manifest, None)
    stop()
    v2 = build(tmp_path / "site", KEY, files_v2(), BASE_TIME + 60)
    with pytest.raises(RetryLater, match="ls-remote"):
        target.deploy(v2.root, v2.manifest, v1.manifest)
    start()
    report = target.deploy(v2.root, v2.manifest, v1.manifest)
    assert report.files_sent == 4
    assert report.files_deleted == 1
    assert tree(checkout(remote, tmp_path / "clone")) == published(v2)


def test_refusals_need_a_person(tmp_path):
    site = build(tmp_path / "site", KEY)
    worktree = tmp_path / "nonbare"
    worktree.mkdir()
    git(worktree, "init", "--quiet", "--initial-branch=gh-pages")
    (worktree / "x").write_text("x")
    git(worktree, "add", "x")
    git(worktree, "commit", "--quiet", "-m", "x")
    with pytest.raises(PublishError, match="checked out branch") as refused:
        target_for(f"git:{worktree}").deploy(site.root, site.manifest, None)
    assert not isinstance(refused.value, RetryLater)
    with pytest.raises(PublishError, match="not appear to be a git repository") as missing:
        target_for(f"git:{tmp_path / 'nowhere.git'}").deploy(site.root, site.manifest, None)
    assert not isinstance(missing.value, RetryLater)


def test_the_machines_git_settings_do_not_change_the_site(tmp_path, monkeypatch):
    ignore = tmp_path / "ignore"
    ignore.write_text("*.atom\nmedia/\n")
    attributes = tmp_path / "attributes"
    attributes.write_text("*.html text eol=crlf\n")
    config = tmp_path / "gitconfig"
    config.write_text(
        f"[core]\n\texcludesFile = {ignore}\n\tattributesFile = {attributes}\n"
        "[commit]\n\tgpgSign = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    remote = bare(tmp_path / "pages.git")
    site = build(tmp_path / "site", KEY)
    target_for(f"git:{remote}").deploy(site.root, site.manifest, None)
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")
    assert tree(checkout(remote, tmp_path / "clone")) == published(site)

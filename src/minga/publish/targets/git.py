"""A git repository for git-hosted pages (GitHub, GitLab, Codeberg, Forgejo…).

The node keeps a working copy under ``<data_dir>/publish/git/<hash of the
target URL>``. Each deploy fetches the branch, makes the work tree hold
exactly the site, commits on top of what the remote has and pushes, never by
force: when someone else pushed meanwhile, their commits are fetched and the
site is committed on top of them again.

The commit is reproducible: its message names the manifest, the aggregate hash
and the outlet, and its dates are the manifest's ``created_at``, so the same
version on the same parent is the same commit.

Besides the site the branch holds ``.nojekyll`` (GitHub Pages would otherwise
run Jekyll, which drops ``/.well-known/`` and every path starting with ``_``)
and keeps the host's own files when the site does not list them: ``CNAME``
(GitHub's custom domain) and ``.domains`` (Codeberg's).

The real ``git`` program runs without a shell and without asking anything
(``GIT_TERMINAL_PROMPT=0``, ssh in batch mode); credentials come from the
machine's git set-up: an ssh deploy key, or a credential helper for https.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from minga.events.event import Event
from minga.exceptions import PublishError, RetryLater
from minga.keys import nip19
from minga.publish.manifest import aggregate, paths_of
from minga.publish.targets.base import Report
from minga.publish.targets.folder import os_errors, put_bytes, sync
from minga.publish.targets.sitefiles import MANIFEST_RELATIVE, manifest_bytes, site_files

HOST_FILES = frozenset({"CNAME", ".domains"})
NOJEKYLL = ".nojekyll"
IDENTITY = ("minga", "minga@localhost")
PUSH_TRIES = 3
TIMEOUT = 600
# Refusals a retry cannot fix: a person must act (credentials, address, branch).
_REFUSED = re.compile(
    r"Permission denied|Authentication failed|could not read Username|"
    r"[Rr]epository not found|does not appear to be a git repository|"
    r"The requested URL returned error: 40[134]|refusing to update checked out branch|"
    r"protected branch|pre-receive hook declined|is not a valid branch name|"
    r"invalid refspec|[Hh]ost key verification failed"
)
_REJECTED = re.compile(r"\[rejected\]|non-fast-forward|fetch first|\[remote rejected\].*stale")


class GitTarget:
    def __init__(self, url: str, remote: str, branch: str) -> None:
        self.url = url
        self.remote = remote
        self.branch = branch

    @property
    def work_tree(self) -> Path:
        name = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:24]
        return settings.MINGA.data_path / "publish" / "git" / name

    def deploy(self, site: Path, manifest: Event, previous: Event | None) -> Report:
        proof = manifest_bytes(site, manifest)  # first: is this the version the site holds?
        files = site_files(site, manifest)
        repo = self.work_tree
        with os_errors(repo):
            self._prepare(repo)
            for _ in range(PUSH_TRIES):
                self._fetch(repo)
                self._keep_host_files(repo)
                sync(files, repo, keep=self._kept)
                put_bytes(repo, MANIFEST_RELATIVE, proof)
                put_bytes(repo, NOJEKYLL, b"")
                self._git(repo, "add", "--all", "--force")  # nothing of the site is ignored
                report = self._staged(repo, manifest)
                if report is None:
                    return Report()  # the branch already holds this version
                self._commit(repo, manifest)
                if self._push(repo):
                    return report
        raise RetryLater(f"{self.remote}: the branch {self.branch} keeps moving; will try again")

    @staticmethod
    def _kept(relative: str) -> bool:
        return relative in (".git", NOJEKYLL, MANIFEST_RELATIVE) or relative in HOST_FILES

    def _prepare(self, repo: Path) -> None:
        if not (repo / ".git").is_dir():
            if repo.exists():
                shutil.rmtree(repo)  # a clone interrupted before it began: start again
            repo.mkdir(parents=True)
            self._git(repo, "init", "--quiet", f"--initial-branch={self.branch}")
            self._git(repo, "remote", "add", "origin", self.remote)
        else:
            self._git(repo, "remote", "set-url", "origin", self.remote)
        self._git(repo, "symbolic-ref", "HEAD", f"refs/heads/{self.branch}")

    def _fetch(self, repo: Path) -> None:
        """Put HEAD (and the index) on the remote branch, leaving the work tree
        as it is; without a remote branch, start a branch of its own."""
        ref = f"refs/heads/{self.branch}"
        listed = self._git(repo, "ls-remote", "origin", ref).strip()
        if listed:
            tracking = f"refs/remotes/origin/{self.branch}"
            self._git(repo, "fetch", "--quiet", "--no-tags", "origin", f"+{ref}:{tracking}")
            self._git(repo, "reset", "--quiet", "--mixed", tracking)
        else:
            self._git(repo, "update-ref", "-d", ref)
            self._git(repo, "read-tree", "--empty")

    def _keep_host_files(self, repo: Path) -> None:
        if not self._git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip():
            return
        present = self._git(repo, "ls-tree", "--name-only", "HEAD", "--", *sorted(HOST_FILES))
        for name in present.split():
            self._git(repo, "checkout", "HEAD", "--", name)

    def _staged(self, repo: Path, manifest: Event) -> Report | None:
        """What the commit would change, or None when it would change nothing."""
        listed = {p[1:] for p in paths_of(manifest)}
        changes = self._git(repo, "diff", "--cached", "--name-status", "--no-renames", "-z")
        fields = changes.split("\0")
        sent = sent_bytes = deleted = 0
        for status, name in zip(fields[0::2], fields[1::2], strict=False):
            if status == "D":
                deleted += 1
            elif name in listed:
                sent += 1
                sent_bytes += (repo / name).stat().st_size
        if not changes.strip("\0"):
            return None
        return Report(files_sent=sent, bytes_sent=sent_bytes, files_deleted=deleted)

    def _commit(self, repo: Path, manifest: Event) -> None:
        agg = aggregate(paths_of(manifest))
        outlet = nip19.npub_encode(manifest.pubkey)
        message = (
            f"Site version {agg[:12]} by {outlet}\n\n"
            f"NIP-5A manifest {manifest.id}\n"
            f"aggregate {agg}\n"
            f"outlet {outlet}\n"
        )
        date = f"@{manifest.created_at} +0000"
        env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        self._git(repo, "commit", "--quiet", "--no-verify", "-m", message, env=env)

    def _push(self, repo: Path) -> bool:
        """Push without force; False when the remote moved meanwhile."""
        done = self._run(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}")
        if done.returncode == 0:
            return True
        if _REJECTED.search(done.stderr):
            return False
        raise self._error("push", done)

    def _git(
        self, repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> str:
        done = self._run(repo, *args, env=env)
        if check and done.returncode != 0:
            raise self._error(args[0], done)
        return done.stdout

    def _run(
        self, repo: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [
            "git",
            "-c", f"user.name={IDENTITY[0]}",
            "-c", f"user.email={IDENTITY[1]}",
            "-c", "commit.gpgsign=false",
            "-c", "core.hooksPath=/dev/null",
            "-c", "core.autocrlf=false",
            "-c", "core.quotepath=false",
            # The machine's own ignore and attribute files must not drop or alter files.
            "-c", "core.excludesFile=/dev/null",
            "-c", "core.attributesFile=/dev/null",
            *args,
        ]  # fmt: skip
        environment = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "LC_ALL": "C",
            **(env or {}),
        }
        try:
            return subprocess.run(
                command,
                cwd=repo,
                env=environment,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RetryLater(f"git {args[0]} took more than {TIMEOUT} s") from exc
        except FileNotFoundError as exc:
            raise PublishError("the git program is not installed") from exc

    def _error(self, verb: str, done: subprocess.CompletedProcess[str]) -> PublishError:
        said = " ".join(done.stderr.split())[:500] or f"exit status {done.returncode}"
        text = f"git {verb} ({self.remote}): {said}"
        if _REFUSED.search(done.stderr):
            return PublishError(text)
        return RetryLater(text)

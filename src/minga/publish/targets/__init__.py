"""Deploy targets: where a built site is copied (one module per kind of target).

A target is named by a URL in the ``publish_targets`` setting:

- ``folder:/srv/www/outlet`` — a folder (any web server, an onion service);
- ``s3://bucket/prefix`` — an S3-compatible bucket (``s3_endpoint``, ``s3_region``);
- ``git:/path/repo.git#branch``, ``git:https://host/owner/repo.git#pages``,
  ``git:git@host:owner/repo.git`` — a branch of a git repository
  (``gh-pages`` by default);
- ``blossom:https://blossom.example`` — a Blossom server.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings

from minga.exceptions import ConfigError
from minga.publish.targets.base import Report, Target, manifest_paths

__all__ = ["Report", "Target", "blossom_servers", "configured", "manifest_paths", "target_for"]

FORMS = (
    "folder:/absolute/path, s3://bucket/prefix, git:<repository>#<branch> or blossom:https://server"
)
DEFAULT_BRANCH = "gh-pages"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# git check-ref-format's rules, for the characters allowed here.
_BRANCH = re.compile(r"^(?![-/.])(?!.*(?:\.\.|//|/\.|@\{|\.lock$|\.lock/|/$|\.$))[\w./-]{1,200}$")


def target_for(url: str) -> Target:
    """The target a ``publish_targets`` entry names (ConfigError when malformed)."""
    text = url.strip()
    if text.startswith("folder:"):
        return _folder(text)
    if text.startswith("s3://"):
        return _s3(text)
    if text.startswith("git:"):
        return _git(text)
    if text.startswith("blossom:"):
        return _blossom(text)
    raise ConfigError(f"publish target {text!r}: unknown kind; write {FORMS}")


def configured() -> list[Target]:
    """The targets of the ``publish_targets`` setting, in its order."""
    urls = [u.strip() for u in str(settings.MINGA.publish_targets).split(",")]
    targets = [target_for(u) for u in dict.fromkeys(u for u in urls if u)]
    return targets


def blossom_servers() -> list[str]:
    """Base URLs of the configured Blossom targets: the manifest's ``server`` tags."""
    from minga.publish.targets.blossom import BlossomTarget

    return [t.server for t in configured() if isinstance(t, BlossomTarget)]


def _folder(text: str) -> Target:
    from minga.publish.targets.folder import FolderTarget

    raw = text.removeprefix("folder:")
    if raw.startswith("//"):
        raw = raw[2:]  # folder:///srv/www, as in file:// URLs
    if not raw.startswith("/"):
        raise ConfigError(f"publish target {text!r}: a folder target takes an absolute path")
    if "\0" in raw:
        raise ConfigError(f"publish target {text!r}: the path holds a NUL character")
    return FolderTarget(text, Path(raw))


def _s3(text: str) -> Target:
    from minga.publish.targets.s3 import S3Target

    bucket, _, prefix = text.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(
            f"publish target {text!r}: {bucket!r} is not a bucket name"
            " (3 to 63 lowercase letters, digits, dots and hyphens)"
        )
    parts = [p for p in prefix.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ConfigError(f"publish target {text!r}: the prefix may not hold . or ..")
    return S3Target(text, bucket, "".join(p + "/" for p in parts))


def _git(text: str) -> Target:
    from minga.publish.targets.git import GitTarget

    remote, _, branch = text.removeprefix("git:").partition("#")
    branch = branch or DEFAULT_BRANCH
    if not remote or remote.startswith("-") or any(c.isspace() for c in remote):
        raise ConfigError(f"publish target {text!r}: write git:<repository>#<branch>")
    if not _BRANCH.match(branch):
        raise ConfigError(f"publish target {text!r}: {branch!r} is not a usable branch name")
    if remote.startswith("/") or remote.startswith("file://"):
        pass  # a repository on this machine (or a mounted disk)
    elif "://" in remote:
        if urlparse(remote).scheme not in ("https", "http", "ssh", "git"):
            raise ConfigError(f"publish target {text!r}: use an https, ssh or local repository")
    elif not re.match(r"^[\w.-]+@[\w.-]+:", remote):
        raise ConfigError(
            f"publish target {text!r}: the repository is an absolute path, a URL or user@host:path"
        )
    return GitTarget(text, remote, branch)


def _blossom(text: str) -> Target:
    from minga.publish.targets.blossom import BlossomTarget

    server = text.removeprefix("blossom:").rstrip("/")
    parsed = urlparse(server)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ConfigError(f"publish target {text!r}: write blossom:https://server")
    if parsed.path or parsed.query or parsed.fragment or parsed.username:
        raise ConfigError(
            f"publish target {text!r}: Blossom serves from the root of its domain;"
            " give only https://host[:port]"
        )
    return BlossomTarget(text, server)

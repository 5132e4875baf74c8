"""A folder that holds exactly the site: for any web server, an onion service,
a USB stick, a network mount.

Each changed file is written under a temporary name in its own folder,
flushed to disk, checked against its hash and renamed over the old one, so a
web server serving the folder never sends half a file. Files the manifest no
longer lists are removed, and the manifest file is written last: a copy that
carries the new manifest is complete.

Every file already there is hashed, so a file damaged or deleted by hand is
repaired on the next deploy (at the cost of reading the folder once).

The folder belongs to the site: anything in it the manifest does not list is
removed. To keep that from ever hurting, removal stays inside the folder (it
never follows a symbolic link nor enters another mounted file system), and
folders where it could do harm are refused: ``/``, system folders, the home
folder or one above it, a git work tree, and any folder that holds, or lies
inside, the node's data folder or the built site.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from minga.events.event import Event
from minga.exceptions import PublishError, RetryLater
from minga.publish.manifest import file_hash
from minga.publish.targets.base import Report
from minga.publish.targets.sitefiles import (
    MANIFEST_RELATIVE,
    SiteFile,
    manifest_bytes,
    site_files,
)

_SYSTEM = frozenset(
    Path(p)
    for p in (
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media",
        "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",  # noqa: S108 - refused, never used
        "/var", "/var/lib", "/var/log", "/var/www", "/usr/local", "/usr/share", "/Users",
        "/Applications", "/Library", "/System",
    )
)  # fmt: skip
_CHUNK = 1 << 20
TMP_MARK = ".minga-tmp-"


class FolderTarget:
    def __init__(self, url: str, path: Path) -> None:
        self.url = url
        self.path = path

    def deploy(self, site: Path, manifest: Event, previous: Event | None) -> Report:
        proof = manifest_bytes(site, manifest)  # first: is this the version the site holds?
        files = site_files(site, manifest)
        with os_errors(self.path):
            root = checked_folder(self.path, site)
            report = sync(files, root, keep=lambda rel: rel == MANIFEST_RELATIVE)
            put_bytes(root, MANIFEST_RELATIVE, proof)
        return report


def checked_folder(path: Path, site: Path) -> Path:
    """The target folder, resolved and created, or PublishError when unsafe."""
    if not path.is_absolute():
        raise PublishError(f"the folder target {path} must be an absolute path")
    root = path.resolve()
    try:
        home: Path | None = Path.home().resolve()
    except RuntimeError:  # no home folder known
        home = None
    if root in _SYSTEM or (home is not None and (root == home or root in home.parents)):
        raise PublishError(f"refusing to make {root} hold only the site: it is not a site folder")
    for other, what in (
        (settings.MINGA.data_path, "the node's data folder"),
        (site.resolve(), "the built site"),
    ):
        if root == other or root in other.parents or other in root.parents:
            raise PublishError(f"the folder target {root} overlaps {what} ({other})")
    root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise PublishError(f"the folder target {root} is not a folder")
    if (root / ".git").exists():
        raise PublishError(f"{root} is a git work tree: deploy there with a git: target")
    return root


def sync(files: Iterable[SiteFile], root: Path, keep: Callable[[str], bool]) -> Report:
    """Make ``root`` hold ``files``: write what differs, remove what is not
    listed (except relative paths ``keep`` accepts). Returns what it did."""
    wanted: set[str] = set()
    sent = sent_bytes = 0
    for item in files:
        wanted.add(item.relative)
        if _same(root / item.relative, item):
            continue
        copy_file(item, root)
        sent += 1
        sent_bytes += item.size
    deleted = remove_strays(root, lambda rel: rel in wanted or keep(rel))
    return Report(files_sent=sent, bytes_sent=sent_bytes, files_deleted=deleted)


def _same(dest: Path, item: SiteFile) -> bool:
    try:
        info = dest.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    return (
        stat.S_ISREG(info.st_mode) and info.st_size == item.size and file_hash(dest) == item.sha256
    )


def _make_parents(root: Path, relative: str) -> Path:
    """The folder for ``relative`` under ``root``, replacing files or links in the way."""
    folder = root
    for part in relative.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
        folder.mkdir(exist_ok=True)
    return folder


def copy_file(item: SiteFile, root: Path) -> None:
    """Write ``item`` at its place under ``root``: temporary name, fsync, check, rename."""
    folder = _make_parents(root, item.relative)
    dest = folder / item.relative.rsplit("/", 1)[-1]
    if dest.is_dir() and not dest.is_symlink():
        _remove_tree(dest)
    digest = hashlib.sha256()
    with item.source.open("rb") as source, _temporary(dest) as (tmp, handle):
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
        if digest.hexdigest() != item.sha256:
            raise RetryLater(f"{item.source} changed while it was copied (site rebuilt?)")
        if file_hash(tmp) != item.sha256:
            raise PublishError(f"the copy of {item.path} in {root} reads back wrong")
        os.replace(tmp, dest)
    _fsync_folder(folder)


def put_bytes(root: Path, relative: str, data: bytes) -> None:
    folder = _make_parents(root, relative)
    dest = folder / relative.rsplit("/", 1)[-1]
    with _temporary(dest) as (tmp, handle):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        os.replace(tmp, dest)
    _fsync_folder(folder)


@contextmanager
def _temporary(dest: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A new file beside ``dest`` (readable by the web server, umask permitting),
    removed again unless it was renamed into place."""
    tmp = dest.with_name(f".{dest.name}{TMP_MARK}{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield tmp, handle
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_strays(root: Path, listed: Callable[[str], bool]) -> int:
    """Remove what is under ``root`` and not ``listed`` (by relative path), and
    the folders left empty. Links are removed, never followed; other mounted
    file systems and listed folders are not entered. Returns the files removed."""
    device = root.stat().st_dev
    removed = 0
    folders: list[str] = []
    for folder, dirs, names, fd in os.fwalk(root):
        here = os.path.relpath(folder, root)
        prefix = "" if here == "." else here.replace(os.sep, "/") + "/"
        for name in names:
            if not listed(prefix + name):
                os.unlink(name, dir_fd=fd)
                removed += 1
        for name in list(dirs):
            rel = prefix + name
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if listed(rel) or info.st_dev != device:
                dirs.remove(name)
            elif stat.S_ISLNK(info.st_mode):
                dirs.remove(name)
                os.unlink(name, dir_fd=fd)
                removed += 1
            else:
                folders.append(rel)
    for rel in reversed(folders):  # deepest first
        try:
            (root / rel).rmdir()
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    return removed


def _remove_tree(path: Path) -> None:
    if path.stat().st_dev != path.parent.stat().st_dev:
        raise PublishError(f"{path} is another mounted file system: not removed")
    shutil.rmtree(path)


@contextmanager
def os_errors(where: Path) -> Iterator[None]:
    """OSError → PublishError when a person must act (no permission, read-only),
    else RetryLater (a full disk, a network mount that went away)."""
    try:
        yield
    except OSError as exc:
        text = f"{where}: {exc.strerror or exc}"
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
            raise PublishError(text) from exc
        raise RetryLater(text) from exc

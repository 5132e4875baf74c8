"""What every deploy target does.

A target receives a complete built site (a folder) and the signed NIP-5A
manifest describing it (``path`` tags: absolute path → sha256 of every file),
and makes the remote hold exactly those files. ``previous`` is the manifest
last deployed there with success, so a target can send only what changed and
remove what went; with ``previous`` None it sends everything.

Targets raise :class:`~minga.exceptions.RetryLater` for passing failures (no
network, 5xx, throttling) and :class:`~minga.exceptions.PublishError` for
refusals that need a person (bad credentials, a missing bucket). Deploying
the same manifest twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from minga.events.event import Event


@dataclass(frozen=True)
class Report:
    files_sent: int = 0
    bytes_sent: int = 0
    files_deleted: int = 0


def manifest_paths(manifest: Event | None) -> dict[str, str]:
    """The ``path`` tags of a manifest: absolute path → sha256."""
    if manifest is None:
        return {}
    return {t[1]: t[2] for t in manifest.tags if t[0] == "path" and len(t) >= 3}


class Target(Protocol):
    url: str  # as written in the publish_targets setting

    def deploy(self, site: Path, manifest: Event, previous: Event | None) -> Report: ...

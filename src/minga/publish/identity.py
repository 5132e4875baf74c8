"""Where the site is built and which key signs it."""

from __future__ import annotations

from pathlib import Path

from minga.config import Config
from minga.events.signing import SecretKey
from minga.exceptions import NotFound
from minga.keys import custody
from minga.keys.models import Purpose


def site_folder(config: Config) -> Path:
    return config.data_path / "site"


def outlet_key() -> SecretKey | None:
    """The outlet's key when this node keeps it (else the site is built unsigned)."""
    try:
        return custody.load_purpose(Purpose.OUTLET)
    except NotFound:
        return None

"""Turn ``database_url`` into Django's DATABASES entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from minga.config import Config


def database_settings(config: Config) -> dict[str, Any]:
    url = config.database_url
    if not url or url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]) if url else config.data_path / "minga.sqlite3"
        sync = config.sqlite_synchronous.upper()
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    f"PRAGMA synchronous={sync};"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA cache_size=-65536;"
                    # Checkpoint the WAL every ~40 MB instead of 4 MB: index pages
                    # rewritten by several batches are copied back once.
                    "PRAGMA wal_autocheckpoint=10000;"
                ),
            },
            "TEST": {"NAME": str(path.with_name(path.stem + "-test.sqlite3"))},
        }
    parsed = urlparse(url)
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "minga",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": options,
    }

"""Loaded with ``-p tests.settings_env`` (pyproject.toml), before pytest-django
reads the Django settings: a throw-away data folder, SQLite by default, and
PostgreSQL when MINGA_TEST_DATABASE_URL is set. (A conftest.py would come too
late: the settings, and with them the data folder, would already be fixed.)"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Settings are read when Django starts, before any fixture runs: point them
# at a throw-away data folder (and the test database) first.
_DATA = tempfile.mkdtemp(prefix="minga-test-")
atexit.register(shutil.rmtree, _DATA, True)
os.environ["MINGA_DATA_DIR"] = _DATA
os.environ.pop("MINGA_CONFIG", None)
os.environ["MINGA_VAULT_KEY"] = "11" * 32
os.environ["MINGA_LOG_LEVEL"] = "warning"
# Messages raised outside a request follow the default language: English here,
# so tests read them; pages are tested in Spanish and English explicitly.
os.environ["MINGA_LANGUAGE"] = "en"
if os.environ.get("MINGA_TEST_DATABASE_URL"):
    os.environ["MINGA_DATABASE_URL"] = os.environ["MINGA_TEST_DATABASE_URL"]
else:
    os.environ.pop("MINGA_DATABASE_URL", None)

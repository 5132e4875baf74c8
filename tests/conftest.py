"""Test set-up: real nodes on loopback ports (fixtures.py). The data folder and
database are chosen in settings_env.py, loaded before Django starts."""

from __future__ import annotations

pytest_plugins = ["tests.fixtures"]

"""Keeps each phase's report on the test item, so the street fixture can show
the nodes' logs when a test failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[Any]:
    outcome: Any = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())

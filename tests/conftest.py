"""Shared test configuration: integration tests run after the fast unit tests."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Unit tests finish in seconds; run them first so a broken basic rule shows up at once.
    items.sort(key=lambda item: item.get_closest_marker("integration") is not None)

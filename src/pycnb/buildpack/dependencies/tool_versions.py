"""Pinned versions of the installer tools the buildpack installs into build-only layers.

This module is the one place these pins live: the layers, the packaged buildpack and the test
wheelhouse (`scripts/fetch_test_wheels.py`) all read them from here, so a bump is one edit.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PIP_VERSION", "POETRY_LOCK", "POETRY_VERSION", "UV_VERSION"]

PIP_VERSION = "26.3"
# uv is installed from its wheel on the package index (PIP_* settings apply, so mirrors work).
UV_VERSION = "0.13.9"
POETRY_VERSION = "2.5.1"
# Poetry's own dependencies, each pinned with the hashes of its files (written by
# scripts/lock_poetry.py): the Poetry layer is the same whenever it is built, and every file pip
# downloads for it is checked against its sha256.
POETRY_LOCK = Path(__file__).parent.parent / "data" / "poetry-requirements.txt"

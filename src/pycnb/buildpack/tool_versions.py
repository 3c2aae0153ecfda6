"""Pinned versions of the installer tools the buildpack installs into build-only layers.

This module is the one place these pins live: the layers, the packaged buildpack and the test
wheelhouse (`scripts/fetch_test_wheels.py`) all read them from here, so a bump is one edit.
"""

from __future__ import annotations

__all__ = ["PIP_VERSION"]

PIP_VERSION = "26.3"

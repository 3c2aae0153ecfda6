"""The buildpack's errors: one base, one subclass per area, and the function that renders them.

Each area raises exceptions that carry facts (a path, a line, what was found) and subclass its
area's base, so `main` catches `BuildpackError` alone. The prose a user reads lives in
`pycnb.buildpack.messages`, one module per area, each registering a renderer per error type on
`render`. A type without one is a bug: the unit tests check that every error type has its own.
"""

from __future__ import annotations

from functools import singledispatch

from pycnb.buildpack.output import Message

__all__ = [
    "BuildpackError",
    "DependencyError",
    "LaunchError",
    "PythonError",
    "render",
]


class BuildpackError(Exception):
    """Something the user can fix: bad input, a setting, an unreachable server."""


class PythonError(BuildpackError):
    """Choosing, downloading or installing the Python runtime."""


class DependencyError(BuildpackError):
    """Choosing the package manager, installing it, and installing the app's dependencies."""


class LaunchError(BuildpackError):
    """Preparing what the image runs: the Procfile, Django's static files."""


@singledispatch
def render(error: Exception) -> Message:
    """The message for `error`; `pycnb.buildpack.messages` registers one per error type."""
    raise TypeError(f"no message for {type(error).__name__}: register one in messages/")

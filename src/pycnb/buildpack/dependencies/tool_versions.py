"""Pinned versions of the installer tools the buildpack installs into build-only layers.

This module is the one place these pins live: the layers, the packaged buildpack, the lock script
(`scripts/lock_tools.py`) and the test wheelhouse (`scripts/fetch_test_wheels.py`) all read them
from here, so a bump is one edit and one run of the lock script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LOCKED_TOOLS",
    "PDM_LOCK",
    "PDM_VERSION",
    "PIPENV_LOCK",
    "PIPENV_VERSION",
    "PIP_VERSION",
    "POETRY_LOCK",
    "POETRY_VERSION",
    "TOOL_WHEELS",
    "UV_VERSION",
    "LockedTool",
]

_DATA = Path(__file__).parent.parent / "data"

PIP_VERSION = "26.3"
UV_VERSION = "0.13.9"
POETRY_VERSION = "2.5.1"
PIPENV_VERSION = "2026.10.3"
PDM_VERSION = "2.29.4"

# uv and pip are unpacked from their wheels, fetched from the package index (PIP_* settings apply,
# so a mirror works) and checked against these sha256 (written by scripts/lock_tools.py).
TOOL_WHEELS = _DATA / "tool-wheels.toml"

# The Python applications among the tools get their dependencies locked, each pinned with the
# hashes of its files (written by scripts/lock_tools.py): the tool's layer is the same whenever it
# is built, and every file pip downloads for it is checked against its sha256.
POETRY_LOCK = _DATA / "poetry-requirements.txt"
PIPENV_LOCK = _DATA / "pipenv-requirements.txt"
PDM_LOCK = _DATA / "pdm-requirements.txt"


@dataclass(frozen=True)
class LockedTool:
    """A tool whose dependencies the buildpack locks: what to lock, and where the lock goes."""

    requirement: str  # the pinned tool: "poetry==2.5.1"
    lock: Path
    # Extra requirements that narrow what the tool's own metadata allows, each for a reason.
    constraints: tuple[str, ...] = ()


LOCKED_TOOLS = (
    LockedTool(f"poetry=={POETRY_VERSION}", POETRY_LOCK),
    LockedTool(f"pipenv=={PIPENV_VERSION}", PIPENV_LOCK),
    LockedTool(
        f"pdm=={PDM_VERSION}",
        PDM_LOCK,
        # PDM asks for hishel>=1.4 with no upper bound, and fails at start with hishel 2.0
        # ("module 'hishel' has no attribute 'SyncSqliteStorage'"). Its own `locked` extra pins
        # hishel 1.4.0, but also a certifi release the index does not have, so it cannot be used.
        constraints=("hishel<2",),
    ),
)

"""The sticky default: the Python series a build chose by default, kept for the next build.

Kept in store.toml, so an app that never chose a version keeps its X.Y when a newer Python is
released. Only a default is remembered: a version the app asks for needs no memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.python.version import MinorVersion
from pycnb.cnb.store import read_store_entry, write_store_entry

__all__ = ["PYTHON_STORE_KEY", "StoredPythonDefault", "read_previous_default", "remember_default"]

PYTHON_STORE_KEY = "python"


@dataclass(frozen=True)
class StoredPythonDefault:
    # The X.Y the previous build chose by default. Absent when an app file or setting chose it:
    # only a default is sticky.
    default_version: str


# The X.Y this module writes, with the version files' rules for numbers (no leading zeros).
_SERIES = re.compile(r"(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})", re.ASCII)


def read_previous_default(layers_dir: Path) -> MinorVersion | None:
    entry = read_store_entry(layers_dir, PYTHON_STORE_KEY, StoredPythonDefault)
    if entry is None:
        return None
    match = _SERIES.fullmatch(entry.default_version)
    if match is None:
        return None  # not X.Y: not ours to interpret, so no stickiness
    return MinorVersion(int(match.group(1)), int(match.group(2)))


def remember_default(layers_dir: Path, series: MinorVersion | None) -> None:
    entry = None if series is None else StoredPythonDefault(str(series))
    write_store_entry(layers_dir, PYTHON_STORE_KEY, entry)

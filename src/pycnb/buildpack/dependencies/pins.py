"""The app's pinned distributions and the wheels they have, for choosing a Python that fits.

Lockfiles list the files of every locked distribution (uv.lock, poetry.lock, pdm.lock), so they
answer for free. requirements.txt `==` pins and Pipfile.lock name only versions: the package
index is asked for their files (PEP 691 JSON, or the PEP 503 HTML page), in parallel, within a
few seconds, with the user's PIP_* index settings. That happens only when the answer can change
the choice (the app leaves the Python series open), and any failure only means no answer: the
choice then falls back to the newest allowed Python, as without this step.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pycnb.buildpack.dependencies.index import index_sources, project_files
from pycnb.buildpack.dependencies.requirements import RequirementsInputs, logical_lines
from pycnb.buildpack.python.wheel_fit import PinnedDistribution, WheelFit, series_with_wheels

__all__ = ["PinSource"]

_TIMEOUT = 5.0  # seconds per request
_BUDGET = 15.0  # seconds for all of them
_WORKERS = 8

Pin = tuple[str, str]  # canonical name, version


@dataclass(frozen=True)
class PinSource:
    """Where the app's pins come from: a lockfile with files, or pins the index must explain."""

    app_dir: Path
    lockfile: str  # the package manager's file: uv.lock, poetry.lock, requirements.txt...
    requirements: RequirementsInputs | None
    arch: str
    env: Mapping[str, str]  # the build's env, for the PIP_* index settings

    def __call__(self, *, ask_index: bool) -> WheelFit | None:
        """The pins and their wheels; with `ask_index` False, only what the lockfile says."""
        path = self.app_dir / self.lockfile
        match self.lockfile:
            case "uv.lock" | "poetry.lock" | "pdm.lock":
                return self._fit(_locked_wheels(_read_toml(path)))
            case "requirements.txt" if ask_index and self.requirements is not None:
                return self._fit(_ask_index(_requirement_pins(self.requirements), self.env))
            case "Pipfile.lock" if ask_index:
                return self._fit(_ask_index(_pipfile_pins(path), self.env))
            case _:
                return None

    def _fit(self, wheels: Mapping[Pin, Sequence[str]]) -> WheelFit | None:
        if not wheels:
            return None
        return WheelFit(
            tuple(
                PinnedDistribution(name, version, series_with_wheels(files, self.arch))
                for (name, version), files in sorted(wheels.items())
            )
        )


# --- Lockfiles -----------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # the installer reports a broken lockfile in its own words


def _locked_wheels(lock: Mapping[str, Any]) -> dict[Pin, list[str]]:
    """uv.lock (`wheels = [{url|path|filename}]`), poetry.lock and pdm.lock (`files =
    [{file|url}]`, or Poetry 1.1's `[metadata.files]`)."""
    legacy_files = lock.get("metadata", {}).get("files", {})
    found: dict[Pin, list[str]] = {}
    for package in lock.get("package", []):
        if not isinstance(package, dict) or not {"name", "version"} <= package.keys():
            continue
        entries = package.get("wheels") or package.get("files") or legacy_files.get(package["name"])
        names = [_file_name(entry) for entry in entries or [] if isinstance(entry, dict)]
        wheels = [name for name in names if name.endswith(".whl")]
        if wheels:
            found[(canonicalize_name(str(package["name"])), str(package["version"]))] = wheels
    return found


def _file_name(entry: Mapping[str, Any]) -> str:
    for key in ("filename", "file", "url", "path"):
        if isinstance(value := entry.get(key), str):
            return urllib.parse.unquote(value.rsplit("/", 1)[-1].split("#", 1)[0])
    return ""


def _requirement_pins(requirements: RequirementsInputs) -> list[Pin]:
    pins = []
    for path in requirements.files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for _, line in logical_lines(text):
            if pin := _exact_pin(line):
                pins.append(pin)
    return pins


def _exact_pin(line: str) -> Pin | None:
    if not line or line.startswith("-"):
        return None
    try:
        requirement = Requirement(line.split(" --hash", 1)[0])
    except InvalidRequirement:
        return None
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator not in ("==", "===") or requirement.url:
        return None
    version = specifiers[0].version
    return None if version.endswith(".*") else (canonicalize_name(requirement.name), version)


def _pipfile_pins(path: Path) -> list[Pin]:
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    default = lock.get("default") if isinstance(lock, dict) else None
    pins: list[Pin] = []
    for name, entry in (default or {}).items():
        version = entry.get("version", "") if isinstance(entry, dict) else ""
        if isinstance(version, str) and version.startswith("=="):
            pins.append((canonicalize_name(name), version[2:]))
    return pins


# --- The package index ---------------------------------------------------------------------


def _ask_index(pins: Sequence[Pin], env: Mapping[str, str]) -> dict[Pin, list[str]]:
    deadline = time.monotonic() + _BUDGET
    sources = index_sources(env)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        answers = pool.map(lambda pin: (pin, _files_of(pin, sources, deadline)), set(pins))
        return {pin: wheels for pin, wheels in answers if wheels}


def _files_of(pin: Pin, sources: Sequence[str], deadline: float) -> list[str]:
    name, version = pin
    wheels = []
    for source in sources:
        if time.monotonic() > deadline:
            break
        timeout = max(0.1, min(_TIMEOUT, deadline - time.monotonic()))
        try:
            files = project_files(source, name, timeout=timeout)
        except (OSError, ValueError):
            continue  # unreachable, refused or not an index: no answer from this one
        wheels += [file.name for file in files if _is_wheel_of(file.name, name, version)]
    return wheels


_VERSION_LOCAL = re.compile(r"\+.*$")


def _is_wheel_of(file_name: str, name: str, version: str) -> bool:
    try:
        wheel_name, wheel_version, _, _ = parse_wheel_filename(file_name)
        return wheel_name == name and wheel_version == Version(_VERSION_LOCAL.sub("", version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return False

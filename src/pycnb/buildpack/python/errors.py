"""Why no Python version could be chosen: the errors of reading and resolving a version.

They carry facts only (the origin, the lines, what the manifest offers); `messages/python.py`
renders each one. All subclass `PythonVersionError`, a `PythonError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from pycnb.buildpack.errors import PythonError
from pycnb.buildpack.python.version import (
    MinorVersion,
    PythonVersion,
    RequestOrigin,
    VersionRequest,
)

__all__ = [
    "BadLine",
    "ConflictingPythonVersions",
    "ConstraintProblem",
    "InvalidProjectFile",
    "InvalidPythonVersion",
    "InvalidVersionConstraint",
    "LineProblem",
    "MultiplePythonVersions",
    "NoMatchingPythonVersion",
    "PythonVersionEndOfLife",
    "PythonVersionError",
    "PythonVersionNotAvailable",
    "PythonVersionNotReleased",
]


class PythonVersionError(PythonError):
    pass


class LineProblem(Enum):
    NO_VERSION = "no-version"  # the whole file: nothing but comments and blank lines
    NOT_A_VERSION = "not-a-version"
    INVALID_UTF8 = "invalid-utf8"
    INVISIBLE_CHARACTER = "invisible-character"  # control, zero-width or other non-ASCII
    NOT_CPYTHON = "not-cpython"  # pypy3.10, graalpy...
    FREE_THREADED = "free-threaded"  # 3.13t
    SYSTEM = "system"  # pyenv's "use the system Python"
    PRERELEASE = "prerelease"  # 3.14.0rc1, 3.15-dev
    INVALID_SPECIFIER = "invalid-specifier"  # starts like a specifier but is not PEP 440
    COMMENT_AFTER_VERSION = "comment-after-version"  # 3.12  # prod


@dataclass(frozen=True)
class BadLine:
    line_number: int | None  # 1-based; None for a setting or the file as a whole
    text: str | None  # as found, trimmed; undecodable bytes as lone surrogates (surrogateescape)
    problem: LineProblem


@dataclass
class InvalidPythonVersion(PythonVersionError):
    origin: RequestOrigin  # .python-version, runtime.txt or BP_PYTHON_VERSION
    problems: list[BadLine]  # every bad line, in file order

    def __str__(self) -> str:
        return f"{self.origin.value}: " + "; ".join(p.problem.value for p in self.problems)


@dataclass
class MultiplePythonVersions(PythonVersionError):
    origin: RequestOrigin
    versions: list[tuple[int, str]]  # (line number, text) of every version found

    def __str__(self) -> str:
        return f"{self.origin.value}: {len(self.versions)} versions"


@dataclass
class InvalidProjectFile(PythonVersionError):
    # pyproject.toml is read once by the project reader, which raises InvalidPyproject.
    file: str  # uv.lock, or a version file that could not be read at all
    reason: str  # the TOML parser's message (with line and column), or the OS error

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


class ConstraintProblem(Enum):
    NOT_A_STRING = "not-a-string"
    INVALID = "invalid"  # not PEP 440 (or, for Poetry, not Poetry's syntax)


@dataclass
class InvalidVersionConstraint(PythonVersionError):
    origin: RequestOrigin  # requires-python, Poetry's python, uv.lock
    value: str  # the text found, or the repr of a non-string value
    problem: ConstraintProblem

    def __str__(self) -> str:
        return f"{self.origin.value}: {self.problem.value}: {self.value}"


@dataclass
class PythonVersionNotAvailable(PythonVersionError):
    request: VersionRequest | None  # None: the default, when the manifest offers nothing usable
    nearest: list[PythonVersion]  # the closest versions the manifest has, ascending
    available: list[PythonVersion]  # everything the manifest offers for this target, ascending

    def __str__(self) -> str:
        requested = "a default" if self.request is None else self.request.text
        return f"Python {requested} is not available"


@dataclass
class NoMatchingPythonVersion(PythonVersionError):
    requests: list[VersionRequest]  # constraints that no available, supported version meets
    available: list[PythonVersion]  # the versions that policy allows, ascending

    def __str__(self) -> str:
        return "no version satisfies " + ", ".join(r.text for r in self.requests)


@dataclass
class ConflictingPythonVersions(PythonVersionError):
    request: VersionRequest  # the explicit request (BP_PYTHON_VERSION, .python-version...)
    conflicts: list[VersionRequest]  # the project's constraints that it does not satisfy
    candidates: list[PythonVersion]  # what the request resolves to in the manifest, ascending

    def __str__(self) -> str:
        return f"{self.request.text} contradicts " + ", ".join(c.text for c in self.conflicts)


@dataclass
class PythonVersionEndOfLife(PythonVersionError):
    request: VersionRequest
    series: MinorVersion
    end_of_life: date | None  # None for versions older than the policy table
    oldest_supported: MinorVersion
    newest_stable: MinorVersion

    def __str__(self) -> str:
        return f"Python {self.series} is past its end-of-life"


@dataclass
class PythonVersionNotReleased(PythonVersionError):
    request: VersionRequest
    series: MinorVersion
    newest_stable: MinorVersion

    def __str__(self) -> str:
        return f"Python {self.series} is not released or not supported yet"

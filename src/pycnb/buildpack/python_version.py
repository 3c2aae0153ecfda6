"""Python versions: what the app asks for, where it asked, and the exact release that satisfies it.

Reading, parsing and resolving are separate steps. `parse_python_version_file` is pure,
`read_requested_version` does the I/O, and `resolve_python_version` matches a request against the
versions the manifest offers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = [
    "InvalidPythonVersionFile",
    "PythonVersion",
    "PythonVersionError",
    "PythonVersionFileSyntax",
    "PythonVersionNotAvailable",
    "RequestOrigin",
    "RequestedVersion",
    "parse_python_version_file",
    "read_requested_version",
    "resolve_python_version",
]

_EXACT = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_REQUEST = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


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

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


class RequestOrigin(Enum):
    PYTHON_VERSION_FILE = ".python-version"
    DEFAULT = "the default"


@dataclass(frozen=True)
class RequestedVersion:
    major: int
    minor: int
    patch: int | None  # None: the newest patch of major.minor
    origin: RequestOrigin

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        return base if self.patch is None else f"{base}.{self.patch}"

    def matches(self, version: PythonVersion) -> bool:
        return (version.major, version.minor) == (self.major, self.minor) and (
            self.patch is None or version.patch == self.patch
        )


class PythonVersionError(Exception):
    pass


@dataclass
class InvalidPythonVersionFile(PythonVersionError):
    path: Path
    line_number: int | None  # 1-based; None when the problem is the file as a whole
    line: str | None  # the offending line, as found
    reason: str  # what is wrong with it

    def __str__(self) -> str:
        where = f"{self.path}:{self.line_number}" if self.line_number else str(self.path)
        return f"{where}: {self.reason}"


@dataclass
class PythonVersionNotAvailable(PythonVersionError):
    requested: RequestedVersion
    available: list[PythonVersion]  # what the manifest offers for this target, ascending

    def __str__(self) -> str:
        return f"Python {self.requested} is not available"


@dataclass
class PythonVersionFileSyntax(ValueError):
    line_number: int | None  # 1-based; None when the problem is the file as a whole
    line: str | None  # the offending line, as found
    reason: str


def parse_python_version_file(text: str) -> tuple[int, int, int | None]:
    """Return (major, minor, patch or None). Comments (#) and blank lines are ignored; anything
    else raises PythonVersionFileSyntax."""
    versions: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            versions.append((number, raw))
    if not versions:
        raise PythonVersionFileSyntax(None, None, "it contains no version")
    if len(versions) > 1:
        number, raw = versions[1]
        raise PythonVersionFileSyntax(number, raw, "it names more than one version")
    number, raw = versions[0]
    match = _REQUEST.fullmatch(raw.strip())
    if match is None:
        raise PythonVersionFileSyntax(number, raw, "it is not a version of the form X.Y or X.Y.Z")
    major, minor, patch = match.groups()
    return int(major), int(minor), None if patch is None else int(patch)


def read_requested_version(app_dir: Path) -> RequestedVersion | None:
    """The version the app asks for, or None when it does not say."""
    path = app_dir / ".python-version"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise InvalidPythonVersionFile(path, None, None, "it is not valid UTF-8 text") from None
    except OSError as error:
        reason = f"it could not be read: {error.strerror}"
        raise InvalidPythonVersionFile(path, None, None, reason) from None
    try:
        major, minor, patch = parse_python_version_file(text)
    except PythonVersionFileSyntax as error:
        raise InvalidPythonVersionFile(path, error.line_number, error.line, error.reason) from None
    return RequestedVersion(major, minor, patch, RequestOrigin.PYTHON_VERSION_FILE)


def resolve_python_version(
    requested: RequestedVersion | None, available: Sequence[PythonVersion]
) -> tuple[RequestedVersion, PythonVersion]:
    """The newest available release matching the request. With no request, the newest patch of
    the newest minor version on offer."""
    if requested is None:
        if not available:
            raise PythonVersionNotAvailable(RequestedVersion(3, 0, None, RequestOrigin.DEFAULT), [])
        newest = max(available)
        requested = RequestedVersion(newest.major, newest.minor, None, RequestOrigin.DEFAULT)
    matching = [version for version in available if requested.matches(version)]
    if not matching:
        raise PythonVersionNotAvailable(requested, sorted(available))
    return requested, max(matching)

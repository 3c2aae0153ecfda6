"""Notices about the Python version: facts worth printing, never fatal.

Each notice carries facts only; `messages/python.py` writes their prose, and `severity` says
whether a notice is a [WARNING] block or a note under the chosen version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from pycnb.buildpack.python.version import (
    MinorVersion,
    PythonVersion,
    RequestOrigin,
    VersionRequest,
)

__all__ = [
    "ByteOrderMark",
    "DefaultDropReason",
    "EndOfLifePython",
    "OlderPatchPinned",
    "OlderSeriesForWheels",
    "PreviousDefaultDropped",
    "PythonVersionNotice",
    "RequestedSeriesLacksWheels",
    "RuntimeTxtDeprecated",
    "Severity",
    "SourceIgnored",
    "UnportableVersionForm",
    "VersionFileRecommended",
    "severity",
]


class Severity(Enum):
    WARNING = "warning"  # a [WARNING] block: the user should act
    NOTE = "note"  # one line under the choice


@dataclass(frozen=True)
class ByteOrderMark:
    origin: RequestOrigin  # the file began with a UTF-8 BOM, which was ignored


@dataclass(frozen=True)
class UnportableVersionForm:
    request: VersionRequest  # a specifier or python-X.Y in .python-version
    suggestion: MinorVersion  # the plain X.Y that gives the same result today


@dataclass(frozen=True)
class RuntimeTxtDeprecated:
    request: VersionRequest
    suggestion: MinorVersion  # what to write in .python-version


@dataclass(frozen=True)
class SourceIgnored:
    ignored: RequestOrigin  # exists, but a source with a higher priority decided
    used: RequestOrigin


@dataclass(frozen=True)
class EndOfLifePython:
    series: MinorVersion
    end_of_life: date
    newest_stable: MinorVersion


@dataclass(frozen=True)
class OlderPatchPinned:
    request: VersionRequest
    pinned: PythonVersion
    newest: PythonVersion  # the newest patch of the same series in the manifest


@dataclass(frozen=True)
class VersionFileRecommended:
    chosen: MinorVersion
    newest: MinorVersion  # the newest stable series in the manifest


class DefaultDropReason(Enum):
    NOT_AVAILABLE = "not-available"  # the manifest no longer has that series
    NOT_SUPPORTED = "not-supported"  # the policy no longer builds it


@dataclass(frozen=True)
class PreviousDefaultDropped:
    previous: MinorVersion  # the default of the previous build, which can no longer be kept
    reason: DefaultDropReason


@dataclass(frozen=True)
class OlderSeriesForWheels:
    """The app left the version open, and a newer series lacks wheels of its pins."""

    chosen: MinorVersion
    newest: MinorVersion  # the newest series the app allows
    missing: tuple[str, ...]  # "greenlet 3.0.3": pinned, with no wheel for `newest`


@dataclass(frozen=True)
class RequestedSeriesLacksWheels:
    """An explicit version, never overridden, for which pins have no wheel: pip or uv will
    have to build them from source, which usually fails for compiled packages."""

    series: MinorVersion
    missing: tuple[str, ...]
    with_wheels: tuple[MinorVersion, ...]  # the series every pin has wheels for, newest first


PythonVersionNotice = (
    ByteOrderMark
    | UnportableVersionForm
    | RuntimeTxtDeprecated
    | SourceIgnored
    | EndOfLifePython
    | OlderPatchPinned
    | VersionFileRecommended
    | PreviousDefaultDropped
    | OlderSeriesForWheels
    | RequestedSeriesLacksWheels
)


def severity(notice: PythonVersionNotice) -> Severity:
    match notice:
        case SourceIgnored(ignored=ignored):
            # A forgotten runtime.txt misleads readers; an overridden file is the override's point.
            return Severity.WARNING if ignored is RequestOrigin.RUNTIME_TXT else Severity.NOTE
        case (
            OlderPatchPinned()
            | VersionFileRecommended()
            | PreviousDefaultDropped()
            | OlderSeriesForWheels()
        ):
            return Severity.NOTE
        case _:
            return Severity.WARNING

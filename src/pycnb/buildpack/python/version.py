"""Python versions: what the app asks for, where it asked, and the exact release that satisfies it.

Reading, parsing and resolving are separate steps. `python_version_sources` reads and parses the
places an app states its version (into `VersionSources`); `resolve_python_version` here is pure:
it matches those requests against the versions the manifest offers and the support policy
(`python_policy`), and returns the chosen release with the notices worth printing. Errors and
notices carry facts only; `errors.py` writes their prose.

Sources, first match wins: BP_PYTHON_VERSION, `.python-version`, `runtime.txt` (explicit
requests), then the project's own constraints (`requires-python` in pyproject.toml, Poetry's
`python` dependency, `requires-python` in uv.lock), then the default. An explicit request must
satisfy every project constraint: a contradiction fails before anything is installed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pycnb.buildpack.errors import PythonError
from pycnb.buildpack.python.policy import POLICY, PythonPolicy, Support

__all__ = [
    "BadLine",
    "ByteOrderMark",
    "ChosenByDefault",
    "ChosenByProject",
    "ChosenByRequest",
    "ConflictingPythonVersions",
    "ConstraintProblem",
    "DefaultDropReason",
    "EndOfLifePython",
    "ExactVersion",
    "InvalidProjectFile",
    "InvalidPythonVersion",
    "InvalidVersionConstraint",
    "LatestPatch",
    "LineProblem",
    "MinorVersion",
    "MultiplePythonVersions",
    "NoMatchingPythonVersion",
    "OlderPatchPinned",
    "PreviousDefaultDropped",
    "PythonVersion",
    "PythonVersionEndOfLife",
    "PythonVersionError",
    "PythonVersionNotAvailable",
    "PythonVersionNotReleased",
    "PythonVersionNotice",
    "RequestForm",
    "RequestOrigin",
    "Resolution",
    "RuntimeTxtDeprecated",
    "Severity",
    "SourceIgnored",
    "UnportableVersionForm",
    "VersionConstraint",
    "VersionFileRecommended",
    "VersionRequest",
    "VersionSources",
    "nearest_versions",
    "resolve_python_version",
    "severity",
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

    @property
    def file(self) -> str:
        """The file (or setting) to edit."""
        match self:
            case RequestOrigin.REQUIRES_PYTHON | RequestOrigin.POETRY_PYTHON:
                return "pyproject.toml"
            case RequestOrigin.UV_LOCK:
                return "uv.lock"
            case _:
                return str(self.value)


class RequestForm(Enum):
    VERSION = "version"  # X.Y or X.Y.Z
    RUNTIME_TXT = "runtime.txt"  # python-X.Y or python-X.Y.Z
    SPECIFIER = "specifier"  # a PEP 440 specifier set
    POETRY = "poetry"  # Poetry's constraint syntax (^, ~, *, ||, and PEP 440)


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


# --- Notices: printed, never fatal ---------------------------------------------------------


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


PythonVersionNotice = (
    ByteOrderMark
    | UnportableVersionForm
    | RuntimeTxtDeprecated
    | SourceIgnored
    | EndOfLifePython
    | OlderPatchPinned
    | VersionFileRecommended
    | PreviousDefaultDropped
)


def severity(notice: PythonVersionNotice) -> Severity:
    match notice:
        case SourceIgnored(ignored=ignored):
            # A forgotten runtime.txt misleads readers; an overridden file is the override's point.
            return Severity.WARNING if ignored is RequestOrigin.RUNTIME_TXT else Severity.NOTE
        case OlderPatchPinned() | VersionFileRecommended() | PreviousDefaultDropped():
            return Severity.NOTE
        case _:
            return Severity.WARNING


# --- Errors --------------------------------------------------------------------------------


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
    file: str  # pyproject.toml, uv.lock, or a version file that could not be read at all
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


# --- Resolution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionSources:
    """What the app says, as read from its files and settings."""

    explicit: VersionRequest | None = None  # the first of BP_PYTHON_VERSION, .python-version...
    project: tuple[VersionRequest, ...] = ()  # requires-python, Poetry's python, uv.lock
    notices: tuple[PythonVersionNotice, ...] = ()  # found while reading (BOM, ignored files)


@dataclass(frozen=True)
class ChosenByRequest:
    request: VersionRequest


@dataclass(frozen=True)
class ChosenByProject:
    constraints: tuple[VersionRequest, ...]


@dataclass(frozen=True)
class ChosenByDefault:
    series: MinorVersion
    kept_from_previous_build: bool


@dataclass(frozen=True)
class Resolution:
    version: PythonVersion
    chosen_by: ChosenByRequest | ChosenByProject | ChosenByDefault
    notices: tuple[PythonVersionNotice, ...] = field(default=())

    @property
    def default_series(self) -> MinorVersion | None:
        """The series to keep for the next build: only a default is sticky."""
        match self.chosen_by:
            case ChosenByDefault(series=series):
                return series
            case _:
                return None


_BUILDABLE = (Support.SUPPORTED, Support.END_OF_LIFE)


def resolve_python_version(
    sources: VersionSources,
    available: Sequence[PythonVersion],
    *,
    previous_default: MinorVersion | None = None,
    policy: PythonPolicy = POLICY,
) -> Resolution:
    """Choose the release to install. `available`: what the manifest has for this target.
    `previous_default`: the series the previous build chose by default, if it did."""
    offered = sorted(set(available))
    notices: list[PythonVersionNotice] = list(sources.notices)
    chosen_by: ChosenByRequest | ChosenByProject | ChosenByDefault
    if sources.explicit is not None:
        request = sources.explicit
        version = _resolve_request(request, sources.project, offered, policy, notices)
        chosen_by = ChosenByRequest(request)
        _form_notices(request, version, notices)
    elif sources.project:
        version = _newest_allowed(list(sources.project), offered, policy)
        chosen_by = ChosenByProject(sources.project)
        notices.append(VersionFileRecommended(version.series, _newest_series(offered, policy)))
    else:
        version, kept = _resolve_default(offered, previous_default, policy, notices)
        chosen_by = ChosenByDefault(version.series, kept_from_previous_build=kept)
        notices.append(VersionFileRecommended(version.series, _newest_series(offered, policy)))
    end_of_life = policy.end_of_life(version.major, version.minor)
    if policy.support(version.major, version.minor) is Support.END_OF_LIFE and end_of_life:
        newest = policy.newest_stable
        notices.append(
            EndOfLifePython(version.series, end_of_life, MinorVersion(newest.major, newest.minor))
        )
    return Resolution(version, chosen_by, tuple(notices))


def _resolve_request(
    request: VersionRequest,
    project: Sequence[VersionRequest],
    offered: list[PythonVersion],
    policy: PythonPolicy,
    notices: list[PythonVersionNotice],
) -> PythonVersion:
    match request.spec:
        case VersionConstraint():
            return _resolve_range(request, project, offered, policy)
        case ExactVersion(version=exact):
            _check_policy(request, exact.series, policy)
            if conflicts := [c for c in project if not c.allows(exact)]:
                raise ConflictingPythonVersions(request, conflicts, [exact])
            if exact not in offered:
                raise PythonVersionNotAvailable(request, nearest_versions(exact, offered), offered)
            newest = max(v for v in offered if v.series == exact.series)
            if newest > exact:
                notices.append(OlderPatchPinned(request, exact, newest))
            return exact
        case LatestPatch(series=series):
            _check_policy(request, series, policy)
            candidates = [v for v in offered if v.series == series]
            if not candidates:
                raise PythonVersionNotAvailable(request, nearest_versions(series, offered), offered)
            allowed = [v for v in candidates if all(c.allows(v) for c in project)]
            if not allowed:
                raise ConflictingPythonVersions(
                    request, _conflicts(candidates, project), candidates
                )
            return max(allowed)


def _resolve_range(
    request: VersionRequest,
    project: Sequence[VersionRequest],
    offered: list[PythonVersion],
    policy: PythonPolicy,
) -> PythonVersion:
    _newest_allowed([request], offered, policy)  # raises when the request alone is unmet
    candidates = [v for v in offered if request.allows(v) and _buildable(v, policy)]
    allowed = [v for v in candidates if all(c.allows(v) for c in project)]
    if not allowed:
        raise ConflictingPythonVersions(request, _conflicts(candidates, project), candidates)
    return max(allowed)


def _conflicts(
    candidates: Sequence[PythonVersion], project: Sequence[VersionRequest]
) -> list[VersionRequest]:
    # The constraints that rule out every candidate; if each allows some but never the same
    # ones, they all take part.
    alone = [c for c in project if not any(c.allows(v) for v in candidates)]
    return alone or list(project)


def _check_policy(request: VersionRequest, series: MinorVersion, policy: PythonPolicy) -> None:
    newest, oldest = policy.newest_stable, policy.oldest_supported
    match policy.support(series.major, series.minor):
        case Support.REFUSED:
            raise PythonVersionEndOfLife(
                request,
                series,
                policy.end_of_life(series.major, series.minor),
                MinorVersion(oldest.major, oldest.minor),
                MinorVersion(newest.major, newest.minor),
            )
        case Support.UNRELEASED:
            raise PythonVersionNotReleased(
                request, series, MinorVersion(newest.major, newest.minor)
            )
        case Support.SUPPORTED | Support.END_OF_LIFE:
            pass


def _buildable(version: PythonVersion, policy: PythonPolicy) -> bool:
    return policy.support(version.major, version.minor) in _BUILDABLE


def _newest_allowed(
    constraints: list[VersionRequest], offered: list[PythonVersion], policy: PythonPolicy
) -> PythonVersion:
    """The newest buildable version every constraint allows."""
    matching = [v for v in offered if all(c.allows(v) for c in constraints)]
    buildable = [v for v in matching if _buildable(v, policy)]
    if buildable:
        return max(buildable)
    if matching:  # the manifest has a match, but policy refuses it: say why
        _check_policy(constraints[0], max(matching).series, policy)
    raise NoMatchingPythonVersion(constraints, [v for v in offered if _buildable(v, policy)])


def _resolve_default(
    offered: list[PythonVersion],
    previous: MinorVersion | None,
    policy: PythonPolicy,
    notices: list[PythonVersionNotice],
) -> tuple[PythonVersion, bool]:
    buildable = [v for v in offered if _buildable(v, policy)]
    if previous is not None:
        # Sticky: an app that never chose a version keeps the series it was first built with,
        # so a new Python release never changes a deployed app's minor version by surprise.
        kept = [v for v in buildable if v.series == previous]
        if kept:
            return max(kept), True
        reason = (
            DefaultDropReason.NOT_SUPPORTED
            if policy.support(previous.major, previous.minor) not in _BUILDABLE
            else DefaultDropReason.NOT_AVAILABLE
        )
        notices.append(PreviousDefaultDropped(previous, reason))
    if not buildable:
        raise PythonVersionNotAvailable(None, [], offered)
    return max(buildable), False


def _newest_series(offered: list[PythonVersion], policy: PythonPolicy) -> MinorVersion:
    return max(v for v in offered if _buildable(v, policy)).series


def _form_notices(
    request: VersionRequest, version: PythonVersion, notices: list[PythonVersionNotice]
) -> None:
    match request.origin:
        case RequestOrigin.RUNTIME_TXT:
            notices.append(RuntimeTxtDeprecated(request, version.series))
        case RequestOrigin.PYTHON_VERSION_FILE if request.form is not RequestForm.VERSION:
            # pyenv reads neither form; uv reads specifiers but not python-X.Y.
            notices.append(UnportableVersionForm(request, version.series))
        case _:
            pass


def nearest_versions(
    target: PythonVersion | MinorVersion, offered: Sequence[PythonVersion], count: int = 3
) -> list[PythonVersion]:
    """Up to `count` versions closest to `target`: patches of the same series when there are
    any, else the newest patch of the closest series. Ascending."""
    if isinstance(target, PythonVersion):
        same = [v for v in offered if v.series == target.series]
        if same:
            patch = target.patch
            closest = sorted(same, key=lambda v: (abs(v.patch - patch), -v.patch))
            return sorted(closest[:count])
        anchor = target.series
    else:
        anchor = target
    newest: dict[MinorVersion, PythonVersion] = {}
    for version in offered:
        newest[version.series] = max(version, newest.get(version.series, version))

    def distance(series: MinorVersion) -> tuple[int, int, int]:
        # Same major first, then by how many minor versions apart (newer wins a tie). Across
        # majors, the series closest in order: the newest 3.x is the nearest to 4.0.
        majors = abs(series.major - anchor.major)
        if series.major == anchor.major:
            return (0, abs(series.minor - anchor.minor), -series.minor)
        return (majors, -series.minor if series.major < anchor.major else series.minor, 0)

    return sorted(newest[s] for s in sorted(newest, key=distance)[:count])

"""Resolving: the exact release that satisfies what the app asks for.

`resolve_python_version` is pure: it matches the requests read by `sources.py` against the
versions the manifest offers and the support policy (`policy.py`), and returns the chosen release
with the notices worth printing.

Sources, first match wins: an explicit request (BP_PYTHON_VERSION, `.python-version`,
`runtime.txt`), then the project's own constraints (`requires-python` in pyproject.toml, Poetry's
`python` dependency, `requires-python` in uv.lock), then the default. An explicit request must
satisfy every project constraint: a contradiction fails before anything is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pycnb.buildpack.python.errors import (
    ConflictingPythonVersions,
    NoMatchingPythonVersion,
    PythonVersionEndOfLife,
    PythonVersionNotAvailable,
    PythonVersionNotReleased,
)
from pycnb.buildpack.python.notices import (
    DefaultDropReason,
    EndOfLifePython,
    OlderPatchPinned,
    OlderSeriesForWheels,
    PreviousDefaultDropped,
    PythonVersionNotice,
    RequestedSeriesLacksWheels,
    RuntimeTxtDeprecated,
    UnportableVersionForm,
    VersionFileRecommended,
)
from pycnb.buildpack.python.policy import POLICY, PythonPolicy, Support
from pycnb.buildpack.python.version import (
    ExactVersion,
    LatestPatch,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionConstraint,
    VersionRequest,
)
from pycnb.buildpack.python.wheel_fit import WheelFit, WheelSource

__all__ = [
    "ChosenByDefault",
    "ChosenByProject",
    "ChosenByRequest",
    "Resolution",
    "VersionSources",
    "nearest_versions",
    "resolve_python_version",
]


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
    wheels: WheelSource | None = None,
) -> Resolution:
    """Choose the release to install. `available`: what the manifest has for this target.
    `previous_default`: the series the previous build chose by default, if it did. `wheels`:
    which wheels the app's pinned distributions have; when the app leaves the series open, the
    newest series they all have wheels for is chosen, and an explicit one is only warned about."""
    offered = sorted(set(available))
    notices: list[PythonVersionNotice] = list(sources.notices)
    chosen_by: ChosenByRequest | ChosenByProject | ChosenByDefault
    if sources.explicit is not None:
        request = sources.explicit
        version = _resolve_request(request, sources.project, offered, policy, notices)
        chosen_by = ChosenByRequest(request)
        _form_notices(request, version, notices)
        if wheels is not None and (known := wheels(ask_index=False)) is not None:
            _warn_missing_wheels(version.series, offered, policy, known, notices)
    elif sources.project:
        version = _newest_allowed(list(sources.project), offered, policy)
        if wheels is not None and (fit := wheels(ask_index=True)) is not None:
            allowed = [v for v in offered if all(c.allows(v) for c in sources.project)]
            version = _fit_wheels(version, _supported_of(allowed, policy), fit, notices)
        chosen_by = ChosenByProject(sources.project)
        notices.append(VersionFileRecommended(version.series, _newest_series(offered, policy)))
    else:
        version, kept = _resolve_default(offered, previous_default, policy, notices)
        # A sticky default keeps its series, and needs no answer from the index.
        if wheels is not None and not kept and (fit := wheels(ask_index=True)) is not None:
            version = _fit_wheels(version, _supported_of(offered, policy), fit, notices)
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


def _buildable_of(versions: Sequence[PythonVersion], policy: PythonPolicy) -> list[PythonVersion]:
    return [v for v in versions if _buildable(v, policy)]


def _supported_of(versions: Sequence[PythonVersion], policy: PythonPolicy) -> list[PythonVersion]:
    # A choice made for the app never lands on a Python past its end of life: that would be
    # pycnb choosing what it then warns the user to leave (and the default is sticky).
    return [v for v in versions if policy.support(v.major, v.minor) is Support.SUPPORTED]


def _series_of(versions: Sequence[PythonVersion]) -> list[MinorVersion]:
    return sorted({v.series for v in versions}, reverse=True)


def _fit_wheels(
    newest: PythonVersion,
    candidates: Sequence[PythonVersion],
    wheels: WheelFit,
    notices: list[PythonVersionNotice],
) -> PythonVersion:
    """The newest candidate of a series every pin has a wheel for; `newest` when none has."""
    series = _series_of(candidates)
    if newest.series not in series:
        return newest  # the newest allowed is not a candidate (past its end of life): keep it
    for fitting in series:
        if not wheels.missing_wheels(fitting, series):
            if fitting != newest.series:
                missing = tuple(map(str, wheels.missing_wheels(newest.series, series)))
                notices.append(OlderSeriesForWheels(fitting, newest.series, missing))
            return max(v for v in candidates if v.series == fitting)
    return newest


def _warn_missing_wheels(
    requested: MinorVersion,
    offered: Sequence[PythonVersion],
    policy: PythonPolicy,
    wheels: WheelFit,
    notices: list[PythonVersionNotice],
) -> None:
    series = _series_of(_buildable_of(offered, policy))
    if missing := wheels.missing_wheels(requested, series):
        with_wheels = tuple(s for s in series if not wheels.missing_wheels(s, series))
        notices.append(RequestedSeriesLacksWheels(requested, tuple(map(str, missing)), with_wheels))


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

"""What choosing the Python version tells the user: its errors and notices.

Long because the version step has many distinct mistakes to explain (each file's forms, the
policy, contradictions between sources, wheels), and they share their helpers (the supported
forms, examples per source, visible characters); one module keeps their wording consistent.
"""

from __future__ import annotations

from datetime import date
from typing import assert_never

from pycnb.buildpack.errors import render
from pycnb.buildpack.messages.text import unusual_characters, visible
from pycnb.buildpack.output import Message
from pycnb.buildpack.python.errors import (
    BadLine,
    ConflictingPythonVersions,
    ConstraintProblem,
    InvalidProjectFile,
    InvalidPythonVersion,
    InvalidVersionConstraint,
    LineProblem,
    MultiplePythonVersions,
    NoMatchingPythonVersion,
    PythonVersionEndOfLife,
    PythonVersionNotAvailable,
    PythonVersionNotReleased,
)
from pycnb.buildpack.python.notices import (
    ByteOrderMark,
    DefaultDropReason,
    EndOfLifePython,
    OlderPatchPinned,
    OlderSeriesForWheels,
    PreviousDefaultDropped,
    PythonVersionNotice,
    RequestedSeriesLacksWheels,
    RuntimeTxtDeprecated,
    SourceIgnored,
    UnportableVersionForm,
    VersionFileRecommended,
)
from pycnb.buildpack.python.policy import POLICY
from pycnb.buildpack.python.version import (
    ExactVersion,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionRequest,
)


def _summarize_versions(versions: list[PythonVersion]) -> str:
    """`3.10 (3.10.0 to 3.10.19), 3.11 (...)`: readable even for a long manifest."""
    by_minor: dict[str, list[PythonVersion]] = {}
    for version in sorted(versions):
        by_minor.setdefault(version.minor_version, []).append(version)
    if not by_minor:
        return "none"
    parts = []
    for minor, releases in by_minor.items():
        if len(releases) == 1:
            parts.append(str(releases[0]))
        else:
            parts.append(f"{minor} ({releases[0]} to {releases[-1]})")
    return ", ".join(parts)


_NEWEST_STABLE = f"{POLICY.newest_stable.major}.{POLICY.newest_stable.minor}"


_SUPPORTED_FORMS = (
    f"pycnb reads one CPython version: X.Y (such as {_NEWEST_STABLE}: its newest release, the "
    f"recommended form) or X.Y.Z (such as {_NEWEST_STABLE}.0: exactly that release). It also "
    f"understands a PEP 440 range (such as >={_NEWEST_STABLE}) and runtime.txt's python-X.Y."
)


_COMMENTS = " Lines starting with # are comments."


_LINE_PROBLEMS = {
    LineProblem.NO_VERSION: "it contains no version, only comments or blank lines",
    LineProblem.NOT_A_VERSION: "this is not a Python version pycnb understands",
    LineProblem.INVALID_UTF8: "this line is not valid UTF-8 text",
    LineProblem.INVISIBLE_CHARACTER: "this line contains invisible or non-ASCII characters",
    LineProblem.NOT_CPYTHON: "pycnb installs CPython only; other implementations (PyPy, GraalPy, "
    "...) are not supported",
    LineProblem.FREE_THREADED: "free-threaded CPython builds (the t suffix) are not supported yet",
    LineProblem.SYSTEM: '"system" (pyenv\'s own Python) means nothing in a build: pycnb installs '
    "the Python the app names",
    LineProblem.PRERELEASE: "pre-release versions of Python are not supported",
    LineProblem.INVALID_SPECIFIER: "this looks like a version range, but it is not a valid PEP "
    "440 specifier set (such as >=3.12 or ==3.13.*)",
    LineProblem.COMMENT_AFTER_VERSION: "a comment must be on a line of its own: pyenv and uv "
    "read the whole line as the version",
}


def render_warning(notice: PythonVersionNotice) -> Message:  # noqa: C901, PLR0911 - a case per type
    """The prose of a notice. Notes (see `python.notices.severity`) use only the title."""
    match notice:
        case ByteOrderMark(origin=origin):
            return Message(
                f"{origin.value} starts with a byte order mark (BOM)",
                "pycnb ignored it, but some tools (such as pyenv) then misread the version.",
                f"Save {origin.value} as UTF-8 without a BOM.",
            )
        case UnportableVersionForm(request=request, suggestion=suggestion):
            read_as = _read_as(request, suggestion)
            return Message(
                f"{request.origin.value} uses a form that local tools may not read: "
                f"{visible(request.text)}",
                f"pycnb read it as {read_as}, so a local environment may run another Python "
                "than the build.",
                f"Write {suggestion} in {request.origin.value} instead: the build still gets the "
                "newest patch release of it.",
            )
        case RuntimeTxtDeprecated(request=request, suggestion=suggestion):
            return Message(
                "runtime.txt is deprecated",
                f"runtime.txt ({visible(request.text)}) still works with pycnb, but it is a "
                "legacy format: other buildpacks are dropping it (the strictest already refuse "
                "to build with it), and local tools such as pyenv and uv don't read it.",
                f"Move to .python-version: create it containing {suggestion} and delete "
                f"runtime.txt.\n\n    echo {suggestion} > .python-version && rm runtime.txt",
            )
        case SourceIgnored(ignored=ignored, used=used):
            return Message(
                f"{ignored.value} is ignored: the Python version comes from {used.value}",
                "",
                f"Delete {ignored.value}, so that nobody mistakes it for the app's Python version."
                if ignored is RequestOrigin.RUNTIME_TXT
                else "",
            )
        case EndOfLifePython(series=series, end_of_life=end_of_life, newest_stable=newest):
            return Message(
                f"Python {series} reached its end of life in {_month(end_of_life)}",
                f"Python {series} no longer receives security fixes. pycnb still builds it for "
                "now, but a future version of pycnb will refuse to.",
                f"Upgrade the app to a supported Python, such as {newest}.",
            )
        case OlderPatchPinned(request=request, pinned=pinned, newest=newest):
            return Message(
                f"Python {pinned} is pinned, but {newest} is the newest {pinned.minor_version} "
                f"release: request {pinned.minor_version} in {request.origin.value} to get "
                "security fixes automatically."
            )
        case VersionFileRecommended(chosen=chosen, newest=newest):
            keep = f"Add a .python-version file containing {chosen} to keep this version"
            if chosen == newest:
                return Message(f"{keep} when newer ones are released.")
            return Message(f"{keep}, or {newest} to move to the newest.")
        case PreviousDefaultDropped(previous=previous, reason=reason):
            why = "available" if reason is DefaultDropReason.NOT_AVAILABLE else "supported"
            return Message(
                f"The previous build used Python {previous} by default, which is no longer "
                f"{why}: using the newest version instead."
            )
        case OlderSeriesForWheels() | RequestedSeriesLacksWheels():
            return _wheel_notice(notice)
        case _:
            assert_never(notice)


def _wheel_notice(notice: OlderSeriesForWheels | RequestedSeriesLacksWheels) -> Message:
    match notice:
        case OlderSeriesForWheels(chosen=chosen, newest=newest, missing=missing):
            return Message(
                f"Chose Python {chosen}, not {newest}: {_listing(missing)} "
                f"{'has' if len(missing) == 1 else 'have'} no wheel for Python {newest}."
            )
        case RequestedSeriesLacksWheels(series=series, missing=missing, with_wheels=fitting):
            where = (
                f"Python {', '.join(map(str, fitting))} "
                f"{'has' if len(fitting) == 1 else 'have'} wheels for all of them"
                if fitting
                else "no supported Python has wheels for all of them"
            )
            return Message(
                f"{_listing(missing)} {'has' if len(missing) == 1 else 'have'} no wheel for "
                f"Python {series}",
                f"The app asks for Python {series}, and its pinned {_listing(missing)} "
                f"{'was' if len(missing) == 1 else 'were'} not built for it, so the installer "
                f"will try to compile {'it' if len(missing) == 1 else 'them'} from source, which "
                f"needs compilers and headers and often fails. {where}.",
                "Upgrade the pins to releases with wheels for this Python, or request a Python "
                "they have wheels for.",
            )
        case _:
            assert_never(notice)


def _listing(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _read_as(request: VersionRequest, suggestion: MinorVersion) -> str:
    """How pycnb read a version in a form local tools may not read."""
    match request.form:
        case RequestForm.SPECIFIER:
            return (
                "a version range, and chose the newest matching version. pyenv cannot read a range"
            )
        case RequestForm.WILDCARD:
            return f"the newest Python {suggestion}, but pyenv and uv read only X.Y or X.Y.Z"
        case _:
            python = request.text.removeprefix("python-")
            return f"Python {python}, but pyenv and uv read only X.Y or X.Y.Z"


def _bad_line(origin: RequestOrigin, bad: BadLine) -> str:
    where = f"{origin.value}, line {bad.line_number}" if bad.line_number else origin.value
    text = f"{where}: {_LINE_PROBLEMS[bad.problem]}."
    if bad.text is not None:
        text += f"\nFound: {visible(bad.text)}"
        if names := unusual_characters(bad.text):
            text += f" (contains {', '.join(names)})"
    return text


def _fix_version_source(origin: RequestOrigin, version: str) -> str:
    if origin is RequestOrigin.BP_PYTHON_VERSION:
        return f"Set BP_PYTHON_VERSION to a version such as {version}, or unset it."
    return f"Fix {origin.value}. {_example_file(origin, version)}"


def _example_file(origin: RequestOrigin, version: str) -> str:
    if origin is RequestOrigin.BP_PYTHON_VERSION:
        return f"For example: BP_PYTHON_VERSION={version}"
    if origin is RequestOrigin.RUNTIME_TXT:
        return (
            "Better, replace runtime.txt (a legacy format) with a .python-version file "
            f"containing:\n\n    {version}"
        )
    return f"For example, a {origin.value} file containing:\n\n    {version}"


def _constraint_example(origin: RequestOrigin) -> str:
    match origin:
        case RequestOrigin.POETRY_PYTHON:
            return f'[tool.poetry.dependencies] python = "^{_NEWEST_STABLE}"'
        case RequestOrigin.UV_LOCK:
            return "regenerate uv.lock with `uv lock`."
        case RequestOrigin.PIPFILE_PYTHON | RequestOrigin.PIPFILE_FULL_PYTHON:
            return f'[requires] python_version = "{_NEWEST_STABLE}" in the Pipfile'
        case _:
            return f'[project] requires-python = ">={_NEWEST_STABLE}"'


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _month(day: date) -> str:
    # Not strftime("%B"): that follows the process locale, and the log is in English.
    return f"{_MONTHS[day.month - 1]} {day.year}"


def _where(request: VersionRequest) -> str:
    # No line number: a version file holds exactly one version line.
    return request.origin.value


def _resolved_to(request: VersionRequest, candidates: list[PythonVersion]) -> str:
    if isinstance(request.spec, ExactVersion) or not candidates:
        return ""
    return f" ({_versions(candidates)} in the runtime manifest)"


def _versions(versions: list[PythonVersion]) -> str:
    return ", ".join(str(v) for v in versions) or "none"


@render.register
def _render_invalid_python_version(error: InvalidPythonVersion) -> Message:
    origin = error.origin
    problems = error.problems
    listing = "\n\n".join(_bad_line(origin, problem) for problem in problems)
    return Message(
        f"Invalid Python version in {origin.value}",
        f"{listing}\n\n{_SUPPORTED_FORMS}"
        + ("" if origin is RequestOrigin.BP_PYTHON_VERSION else _COMMENTS),
        _fix_version_source(origin, _NEWEST_STABLE),
    )


@render.register
def _render_multiple_python_versions(error: MultiplePythonVersions) -> Message:
    origin = error.origin
    versions = error.versions
    listing = "\n".join(f"  line {number}: {visible(text)}" for number, text in versions)
    return Message(
        f"Invalid Python version in {origin.value}",
        f"{origin.value}, line {versions[1][0]}: it names more than one version. A build "
        f"installs exactly one Python, but the file lists:\n\n{listing}\n\n(pyenv reads "
        "several versions as a list of interpreters to offer side by side.)",
        f"Keep only the version the app runs on. {_example_file(origin, versions[0][1])}",
    )


@render.register
def _render_invalid_project_file(error: InvalidProjectFile) -> Message:
    file = error.file
    reason = error.reason
    fix = (
        "Regenerate it with `uv lock`."
        if file == "uv.lock"
        else f"Fix {file}: pycnb reads the Python version the project needs from it."
    )
    return Message(f"{file} could not be read", f"{file}: {reason}", fix)


@render.register
def _render_invalid_version_constraint(error: InvalidVersionConstraint) -> Message:
    origin = error.origin
    value = error.value
    problem = error.problem
    match origin:
        case RequestOrigin.POETRY_PYTHON:
            expected = "a Poetry version constraint (such as ^3.12 or >=3.12,<4)"
        case RequestOrigin.PIPFILE_PYTHON | RequestOrigin.PIPFILE_FULL_PYTHON:
            expected = "a Python version (such as 3.12, or 3.12.4 for python_full_version)"
        case _:
            expected = "a PEP 440 specifier set (such as >=3.12)"
    found = "is not a string" if problem is ConstraintProblem.NOT_A_STRING else "is not"
    return Message(
        f"Invalid Python version constraint in {origin.file}",
        f"{origin.value}: {value} {found} {expected}."
        if problem is ConstraintProblem.INVALID
        else f"{origin.value}: {value} {found}; expected {expected}.",
        f"Fix {origin.file}. For example: {_constraint_example(origin)}",
    )


@render.register
def _render_python_version_not_available(error: PythonVersionNotAvailable) -> Message:
    request = error.request
    nearest = error.nearest
    available = error.available
    if request is None:
        return Message(
            "The runtime manifest has no usable Python version",
            "None of the versions it offers for this platform is supported: "
            f"{_summarize_versions(available)}.",
            f"Use a manifest (BP_PYTHON_MANIFEST) that offers Python {_NEWEST_STABLE}.",
        )
    example = nearest[-1].minor_version if nearest else _NEWEST_STABLE
    return Message(
        f"Python {request.text} is not available",
        f"The app asks for Python {request.text} ({_where(request)}), but the runtime "
        "manifest has no such version for this platform.\n\n"
        f"Nearest available versions: {_versions(nearest)}\n"
        f"Available versions: {_summarize_versions(available)}",
        f"Request one of the available versions in {request.origin.file}. Requesting "
        f"X.Y (for example {example}) gets the newest patch release, with its security "
        "fixes, automatically.",
    )


@render.register
def _render_no_matching_python_version(error: NoMatchingPythonVersion) -> Message:
    requests = error.requests
    available = error.available
    listing = "\n".join(f"  {r.text} ({_where(r)})" for r in requests)
    # Suggest what this manifest offers, not what the policy knows of.
    newest = max(available).minor_version if available else _NEWEST_STABLE
    origin = requests[0].origin if len(requests) == 1 else RequestOrigin.REQUIRES_PYTHON
    change = (
        f'python_version = "{newest}" in the Pipfile\'s [requires]'
        if origin in (RequestOrigin.PIPFILE_PYTHON, RequestOrigin.PIPFILE_FULL_PYTHON)
        else f"for example >={newest}"
    )
    return Message(
        "No available Python version satisfies the app's requirements",
        f"The app requires:\n\n{listing}\n\nbut none of the supported versions in the "
        f"runtime manifest matches. Available versions: {_summarize_versions(available)}",
        "Change the requirement so that it allows one of the available versions, "
        f"{change}, or add a .python-version file containing {newest}.",
    )


@render.register
def _render_conflicting_python_versions(error: ConflictingPythonVersions) -> Message:
    request = error.request
    conflicts = error.conflicts
    resolved = _resolved_to(request, error.candidates)
    listing = "\n".join(f"  {c.origin.value}: {c.text}" for c in conflicts)
    files = sorted({c.origin.file for c in conflicts})
    return Message(
        f"The Python version in {request.origin.file} contradicts {' and '.join(files)}",
        f"{_where(request)} asks for Python {request.text}{resolved}, which the "
        f"project's own requirements do not allow:\n\n{listing}\n\nNothing was installed.",
        f"Make them agree: change {request.origin.file} to a version that "
        f"{' and '.join(files)} allow{'s' if len(files) == 1 else ''}, or widen the "
        "requirement if the app really supports that version.",
    )


@render.register
def _render_python_version_end_of_life(error: PythonVersionEndOfLife) -> Message:
    request = error.request
    series = error.series
    end_of_life = error.end_of_life
    since = f" in {_month(end_of_life)}" if end_of_life else " long ago"
    return Message(
        f"Python {series} has reached its end of life",
        f"{_where(request)} asks for Python {request.text}. Python {series} reached its "
        f"end of life{since}: it no longer receives security fixes, so pycnb no longer "
        "builds it.",
        f"Upgrade the app: set {request.origin.file} to {error.newest_stable} (the newest "
        f"release), or to {error.oldest_supported} (the oldest supported one) for a "
        "smaller step. Run the app's tests with that version first: some dependency "
        "pins may need raising too.",
    )


@render.register
def _render_python_version_not_released(error: PythonVersionNotReleased) -> Message:
    request = error.request
    series = error.series
    newest = error.newest_stable
    return Message(
        f"Python {series} is not released or not supported yet",
        f"{_where(request)} asks for Python {request.text}, which is newer than "
        f"{newest}, the newest stable Python that this version of pycnb supports.",
        f"Request Python {newest} in {request.origin.file}, or update pycnb once "
        f"Python {series} is released and supported.",
    )

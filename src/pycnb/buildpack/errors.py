"""The only place that turns the buildpack's error types into prose a user reads.

Each area raises exceptions that carry facts (a path, a line, what was found). `render` says
what is wrong, where, and how to fix it. A type missing here is a bug, and mypy reports it
through `assert_never`.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import TypeAlias, assert_never

from pycnb.buildpack.checks import ForbiddenEnvVars
from pycnb.buildpack.commands import CommandFailed, CommandNotFound
from pycnb.buildpack.dependencies.bootstrap_pip import BundledPipMissing, ToolInstallFailed
from pycnb.buildpack.dependencies.groups import GROUPS_SETTING, UnknownDependencyGroups
from pycnb.buildpack.dependencies.package_manager import (
    LockfileMissing,
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PyprojectWithoutLockfile,
    UnsupportedPackageManager,
)
from pycnb.buildpack.dependencies.requirements import RequirementsFileMissing
from pycnb.buildpack.dependencies.venv import (
    InstallerFailed,
    LockfileOutdated,
    PipInstallFailed,
    PythonRejected,
)
from pycnb.buildpack.launch.django import (
    CollectstaticCause,
    CollectstaticFailed,
    InvalidBooleanSetting,
)
from pycnb.buildpack.launch.procfile import InvalidProcfile, ProblemKind, ProcfileProblem
from pycnb.buildpack.output import Message
from pycnb.buildpack.project import InvalidPyproject
from pycnb.buildpack.python.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.python.download import ChecksumMismatch, DownloadFailed
from pycnb.buildpack.python.manifest import InvalidManifest, InvalidMirror, ManifestUnavailable
from pycnb.buildpack.python.policy import POLICY
from pycnb.buildpack.python.version import (
    BadLine,
    ByteOrderMark,
    ConflictingPythonVersions,
    ConstraintProblem,
    DefaultDropReason,
    EndOfLifePython,
    ExactVersion,
    InvalidProjectFile,
    InvalidPythonVersion,
    InvalidVersionConstraint,
    LineProblem,
    MultiplePythonVersions,
    NoMatchingPythonVersion,
    OlderPatchPinned,
    PreviousDefaultDropped,
    PythonVersion,
    PythonVersionEndOfLife,
    PythonVersionNotAvailable,
    PythonVersionNotice,
    PythonVersionNotReleased,
    RequestForm,
    RequestOrigin,
    RuntimeTxtDeprecated,
    SourceIgnored,
    UnportableVersionForm,
    VersionFileRecommended,
    VersionRequest,
)
from pycnb.cnb.context import ContextError

__all__ = ["BuildpackError", "render", "render_dependency_warning", "render_warning"]

# The Python version step's errors, rendered by `_render_python_version`.
_PythonVersionError: TypeAlias = (
    InvalidPythonVersion
    | MultiplePythonVersions
    | InvalidProjectFile
    | InvalidVersionConstraint
    | PythonVersionNotAvailable
    | NoMatchingPythonVersion
    | ConflictingPythonVersions
    | PythonVersionEndOfLife
    | PythonVersionNotReleased
)

BuildpackError: TypeAlias = (
    ForbiddenEnvVars
    | NoPackageManager
    | MultiplePackageManagers
    | UnsupportedPackageManager
    | LockfileMissing
    | InvalidPyproject
    | UnknownDependencyGroups
    | LockfileOutdated
    | PythonRejected
    | InstallerFailed
    | _PythonVersionError
    | RequirementsFileMissing
    | ManifestUnavailable
    | InvalidManifest
    | InvalidMirror
    | DownloadFailed
    | ChecksumMismatch
    | InvalidArchive
    | UnsafeArchiveMember
    | BundledPipMissing
    | ToolInstallFailed
    | PipInstallFailed
    | CommandFailed
    | CommandNotFound
    | ContextError
    | InvalidProcfile
    | CollectstaticFailed
    | InvalidBooleanSetting
)

# For `except`: every type in BuildpackError.
BUILDPACK_ERRORS: tuple[type[Exception], ...] = BuildpackError.__args__


def render(error: BuildpackError) -> Message:  # noqa: C901, PLR0911, PLR0912
    match error:
        case ForbiddenEnvVars(found=found):
            listing = "\n".join(f"  {name}: {why}" for name, why in found)
            return Message(
                "Unsupported environment variables are set",
                f"These environment variables would break the build or the image:\n\n{listing}",
                "Remove them from the build's environment (for example the `--env` options of "
                "`pack build` or `pycnb build`, or the platform's env directory).",
            )
        case (
            NoPackageManager()
            | MultiplePackageManagers()
            | UnsupportedPackageManager()
            | LockfileMissing()
            | InvalidPyproject()
            | UnknownDependencyGroups()
            | LockfileOutdated()
            | PythonRejected()
            | InstallerFailed()
        ):
            return _render_dependencies(error)
        case (
            InvalidPythonVersion()
            | MultiplePythonVersions()
            | InvalidProjectFile()
            | InvalidVersionConstraint()
            | PythonVersionNotAvailable()
            | NoMatchingPythonVersion()
            | ConflictingPythonVersions()
            | PythonVersionEndOfLife()
            | PythonVersionNotReleased()
        ):
            return _render_python_version(error)
        case RequirementsFileMissing(path=path, included_from=parent, line_number=number):
            if parent is None:
                return Message("requirements.txt could not be read", f"{path} does not exist.")
            return Message(
                f"A requirements file named in {parent.name} does not exist",
                f"{parent.name}, line {number}, includes {path.name}, which was not found at "
                f"{path}.",
                f"Add the missing file, or fix the path on line {number} of {parent.name} (it is "
                "relative to the file that includes it).",
            )
        case ManifestUnavailable(source=source, reason=reason):
            return Message(
                "The Python runtime manifest could not be read",
                f"{source}: {reason}",
                "Check BP_PYTHON_MANIFEST: it must be a path or a file://, http:// or https:// "
                "URL of a manifest file.",
            )
        case InvalidManifest(source=source, problems=problems):
            listing = "\n".join(f"  - {problem}" for problem in problems)
            return Message(
                "The Python runtime manifest is invalid",
                f"{source}:\n{listing}",
                'Fix the manifest. Its format is {"schema": 1, "distributions": [{"version", '
                '"os", "arch", "url", "sha256"}, ...]}.',
            )
        case InvalidMirror(mirror=mirror, reason=reason):
            return Message(
                "BP_PYTHON_MIRROR is not a usable URL",
                f"{mirror!r}: {reason}",
                "Set BP_PYTHON_MIRROR to the base URL of a mirror of the python-build-standalone "
                "release downloads, such as https://mirror.example.com/python-build-standalone.",
            )
        case DownloadFailed(url=url, reason=reason, attempts=attempts):
            tries = f" (after {attempts} attempts)" if attempts > 1 else ""
            return Message(
                "Downloading Python failed",
                f"{url}\n{reason}{tries}",
                "Check the network connection of the build, or point BP_PYTHON_MIRROR at a "
                "mirror of the Python archives that this build can reach.",
            )
        case ChecksumMismatch(url=url, expected=expected, actual=actual):
            return Message(
                "The downloaded Python archive does not match its checksum",
                f"{url}\nexpected sha256 {expected}\nreceived sha256 {actual}\n\n"
                "The file was not used. A mirror serving a different file, or a corrupted "
                "download, causes this.",
                "Retry the build. If it fails again, check BP_PYTHON_MIRROR or the manifest.",
            )
        case InvalidArchive(archive=archive, reason=reason):
            return Message(
                "The Python archive is not usable",
                f"{archive}: {reason}",
                "Check that the manifest points at a python-build-standalone "
                "`install_only` archive (.tar.gz with a top-level python/ directory).",
            )
        case UnsafeArchiveMember(archive=archive, member=member, reason=reason):
            return Message(
                "The Python archive contains an unsafe file",
                f"{archive}: {member!r} {reason}. Nothing from it was installed.",
                "Use an archive from a trusted source.",
            )
        case BundledPipMissing(directory=directory):
            return Message(
                "The Python runtime has no bundled pip",
                f"pycnb installs pip with the wheel that Python's ensurepip bundles, but "
                f"{directory} has none.",
                "Use a Python runtime that includes ensurepip (python-build-standalone does).",
            )
        case ToolInstallFailed(tool=tool, requirement=requirement, returncode=code, output=output):
            quoted = "\n".join(f"    {line}" for line in output.strip().splitlines())
            return Message(
                f"Installing {tool} failed",
                (f"pip said:\n\n{quoted}\n\n" if quoted else "")
                + f"pycnb installs {tool} from the package index with the pip bundled with "
                f"Python: `pip install {requirement}` exited with status {code}.",
                "Check that the package index is reachable from the build and serves a wheel of "
                f"{requirement} for this platform. The PIP_* settings apply to this install: a "
                "mirror of the index needs PIP_INDEX_URL (with its credentials) or "
                "PIP_EXTRA_INDEX_URL, a private certificate authority PIP_CERT.",
            )
        case PipInstallFailed(requirements_file=name):
            return Message(
                "Installing dependencies with pip failed",
                f"pip could not install the packages in {name}; its own error is printed above.",
                f"Check that every package in {name} exists for this Python version and "
                "platform, that version pins don't conflict, and that any private index is "
                "reachable (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL). Run "
                f"`pip install -r {name}` locally to reproduce.",
            )
        case CommandFailed(argv=argv, returncode=code, output=output):
            shown = f"\n\nIts output:\n{output.rstrip()}" if output else ""
            return Message(
                f"{argv[0]} failed",
                f"The command `{' '.join(argv)}` exited with status {code}.{shown}",
            )
        case CommandNotFound(program=program, reason=reason):
            return Message(f"Could not run {program}", reason)
        case ContextError(reason=reason):
            return Message(
                "The platform did not provide what a buildpack needs",
                reason,
                "Run the buildpack with a CNB platform (pack, kpack, `pycnb build`).",
            )
        case InvalidProcfile() | CollectstaticFailed() | InvalidBooleanSetting():
            return _render_launch(error)
        case _:
            assert_never(error)


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


# --- Python version ------------------------------------------------------------------------


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


def _render_python_version(error: _PythonVersionError) -> Message:  # noqa: C901, PLR0911
    match error:
        case InvalidPythonVersion(origin=origin, problems=problems):
            listing = "\n\n".join(_bad_line(origin, problem) for problem in problems)
            return Message(
                f"Invalid Python version in {origin.value}",
                f"{listing}\n\n{_SUPPORTED_FORMS}"
                + ("" if origin is RequestOrigin.BP_PYTHON_VERSION else _COMMENTS),
                _fix_version_source(origin, _NEWEST_STABLE),
            )
        case MultiplePythonVersions(origin=origin, versions=versions):
            listing = "\n".join(f"  line {number}: {_visible(text)}" for number, text in versions)
            return Message(
                f"Invalid Python version in {origin.value}",
                f"{origin.value}, line {versions[1][0]}: it names more than one version. A build "
                f"installs exactly one Python, but the file lists:\n\n{listing}\n\n(pyenv reads "
                "several versions as a list of interpreters to offer side by side.)",
                f"Keep only the version the app runs on. {_example_file(origin, versions[0][1])}",
            )
        case InvalidProjectFile(file=file, reason=reason):
            fix = (
                "Regenerate it with `uv lock`."
                if file == "uv.lock"
                else f"Fix {file}: pycnb reads the Python version the project needs from it."
            )
            return Message(f"{file} could not be read", f"{file}: {reason}", fix)
        case InvalidVersionConstraint(origin=origin, value=value, problem=problem):
            expected = (
                "a Poetry version constraint (such as ^3.12 or >=3.12,<4)"
                if origin is RequestOrigin.POETRY_PYTHON
                else "a PEP 440 specifier set (such as >=3.12)"
            )
            found = "is not a string" if problem is ConstraintProblem.NOT_A_STRING else "is not"
            return Message(
                f"Invalid Python version constraint in {origin.file}",
                f"{origin.value}: {value} {found} {expected}."
                if problem is ConstraintProblem.INVALID
                else f"{origin.value}: {value} {found}; expected {expected}.",
                f"Fix {origin.file}. For example: {_constraint_example(origin)}",
            )
        case PythonVersionNotAvailable(request=request, nearest=nearest, available=available):
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
        case NoMatchingPythonVersion(requests=requests, available=available):
            listing = "\n".join(f"  {r.text} ({_where(r)})" for r in requests)
            return Message(
                "No available Python version satisfies the app's requirements",
                f"The app requires:\n\n{listing}\n\nbut none of the supported versions in the "
                f"runtime manifest matches. Available versions: {_summarize_versions(available)}",
                "Change the requirement so that it allows one of the available versions, for "
                f"example >={_NEWEST_STABLE}, or add a .python-version file containing "
                f"{_NEWEST_STABLE}.",
            )
        case ConflictingPythonVersions(request=request, conflicts=conflicts):
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
        case PythonVersionEndOfLife(request=request, series=series, end_of_life=end_of_life):
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
        case PythonVersionNotReleased(request=request, series=series, newest_stable=newest):
            return Message(
                f"Python {series} is not released or not supported yet",
                f"{_where(request)} asks for Python {request.text}, which is newer than "
                f"{newest}, the newest stable Python that this version of pycnb supports.",
                f"Request Python {newest} in {request.origin.file}, or update pycnb once "
                f"Python {series} is released and supported.",
            )
        case _:
            assert_never(error)


def render_warning(notice: PythonVersionNotice) -> Message:  # noqa: PLR0911
    """The prose of a notice. Notes (see `python_version.severity`) use only the title."""
    match notice:
        case ByteOrderMark(origin=origin):
            return Message(
                f"{origin.value} starts with a byte order mark (BOM)",
                "pycnb ignored it, but some tools (such as pyenv) then misread the version.",
                f"Save {origin.value} as UTF-8 without a BOM.",
            )
        case UnportableVersionForm(request=request, suggestion=suggestion):
            read_as = (
                "a version range, and chose the newest matching version. pyenv cannot read a range"
                if request.form is RequestForm.SPECIFIER
                else f"Python {request.text.removeprefix('python-')}, but pyenv and uv read "
                "only X.Y or X.Y.Z"
            )
            return Message(
                f"{request.origin.value} uses a form that local tools may not read: "
                f"{_visible(request.text)}",
                f"pycnb read it as {read_as}, so a local environment may run another Python "
                "than the build.",
                f"Write {suggestion} in {request.origin.value} instead: the build still gets the "
                "newest patch release of it.",
            )
        case RuntimeTxtDeprecated(request=request, suggestion=suggestion):
            return Message(
                "runtime.txt is deprecated",
                f"runtime.txt ({_visible(request.text)}) still works with pycnb, but it is a "
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
        case _:
            assert_never(notice)


def _bad_line(origin: RequestOrigin, bad: BadLine) -> str:
    where = f"{origin.value}, line {bad.line_number}" if bad.line_number else origin.value
    text = f"{where}: {_LINE_PROBLEMS[bad.problem]}."
    if bad.text is not None:
        text += f"\nFound: {_visible(bad.text)}"
        if names := _unusual_characters(bad.text):
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


def _visible(text: str) -> str:
    """`text` in double quotes with everything that is not printable ASCII escaped, so that a
    zero-width space, a BOM or a stray byte shows up in the message."""
    out = []
    for char in text:
        code = ord(char)
        if char in '\\"':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _UNDECODABLE_FIRST <= code <= _UNDECODABLE_LAST:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:  # noqa: PLR2004
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:  # noqa: PLR2004
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# surrogateescape decodes each byte that is not valid UTF-8 to U+DC80..U+DCFF (byte + 0xDC00).
_UNDECODABLE_FIRST, _UNDECODABLE_LAST = 0xDC80, 0xDCFF


def _unusual_characters(text: str) -> list[str]:
    """Names of the characters that `_visible` escapes, such as `U+200B ZERO WIDTH SPACE`."""
    names: list[str] = []
    for char in dict.fromkeys(text):
        code = ord(char)
        if " " <= char <= "~":
            continue
        if _UNDECODABLE_FIRST <= code <= _UNDECODABLE_LAST:
            name = f"the byte 0x{code - 0xDC00:02X}, which is not valid UTF-8 here"
        else:
            name = f"U+{code:04X} {unicodedata.name(char, 'a control character')}"
        names.append(name)
    return names


# --- What the image runs: Procfile, Django's static files ----------------------------------

_LaunchError: TypeAlias = InvalidProcfile | CollectstaticFailed | InvalidBooleanSetting

_PROCFILE_FORMAT = (
    "Each line of a Procfile is `<type>: <command>`, for example:\n\n"
    "    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT\n"
    "    worker: celery --app myproject worker\n\n"
    "A type has letters, digits, `.`, `_` and `-`; lines starting with # are comments."
)


def _collectstatic_cause(cause: CollectstaticCause, name: str | None) -> tuple[str, str]:
    """What Django's output points at, and its fix."""
    match cause:
        case CollectstaticCause.MISSING_STATIC_ROOT:
            explanation = (
                "STATIC_ROOT is not set: collectstatic needs a directory to copy the files to."
            )
            fix = (
                "Set STATIC_ROOT in the settings to a directory inside the project, for example "
                'STATIC_ROOT = BASE_DIR / "staticfiles".'
            )
        case CollectstaticCause.MISSING_ENV_VAR:
            explanation = (
                f"The settings read the environment variable {name}, which the build does not "
                "have. Django loads the settings at build time too, to find the static files."
            )
            fix = (
                f"Give {name} a default that works at build time "
                f'(os.environ.get("{name}", ...)), or pass it to the build '
                f"(`pack build --env {name}=...`, `pycnb build --env {name}=...`)."
            )
        case CollectstaticCause.MISSING_MODULE:
            explanation = f"The project imports {name}, which is not installed."
            fix = f"Add the package that provides {name} to the app's dependencies."
        case CollectstaticCause.SETTINGS_ERROR:
            explanation = (
                "Loading the project raised an error. The usual causes are settings that cannot "
                "be imported (a missing dependency, a missing environment variable, a typo in "
                "DJANGO_SETTINGS_MODULE) and a missing STATIC_ROOT."
            )
            fix = "Fix the error that Django's output shows."
        case CollectstaticCause.UNKNOWN:
            explanation = (
                "The usual causes are a missing STATIC_ROOT setting and settings that cannot be "
                "imported at build time (a missing dependency or environment variable)."
            )
            fix = "Fix the error that Django's output shows."
        case _:
            assert_never(cause)
    return explanation, fix


def _render_launch(error: _LaunchError) -> Message:
    match error:
        case InvalidProcfile(problems=problems):
            listing = "\n".join(_procfile_problem(problem) for problem in problems)
            lines = "a line" if len(problems) == 1 else f"{len(problems)} lines"
            return Message(
                f"The Procfile has {lines} that pycnb cannot read",
                listing,
                f"Fix the Procfile. {_PROCFILE_FORMAT}",
            )
        case CollectstaticFailed(argv=argv, returncode=code, output=output, cause=cause):
            explanation, fix = _collectstatic_cause(cause, error.name)
            probe = "help" in argv  # the check for collectstatic, before running it
            return Message(
                "Django could not load the project" if probe else "Django's collectstatic failed",
                f"`{' '.join(argv)}` exited with status {code}. Django's output:\n\n"
                f"{output.rstrip()}\n\n{explanation}",
                f"{fix} To reproduce, run `python manage.py collectstatic --noinput` with the "
                "build's environment variables. If the app has no static files to collect, set "
                "BP_DISABLE_COLLECTSTATIC=1 to skip this step.",
            )
        case InvalidBooleanSetting(name=name, value=value):
            return Message(
                f"{name} must be true or false",
                f"{name} is set to {_visible(value)}.",
                f"Set {name} to 1 (or true) to turn it on, or unset it.",
            )
        case _:
            assert_never(error)


def _procfile_problem(problem: ProcfileProblem) -> str:
    found = f"  line {problem.line_number}: {_visible(problem.line)}\n    "
    process_type = problem.process_type or ""
    match problem.kind:
        case ProblemKind.MALFORMED:
            return found + "is not `<type>: <command>`."
        case ProblemKind.INVALID_TYPE if " " in process_type or "\t" in process_type:
            return (
                found + f"{_visible(process_type)} is not a process type: is the type missing "
                "before the command (such as `web: ...`)?"
            )
        case ProblemKind.INVALID_TYPE:
            return (
                found
                + f"the process type {_visible(process_type)} has characters a type cannot have."
            )
        case ProblemKind.EMPTY_COMMAND:
            return found + f"the process type {process_type} has no command."
        case ProblemKind.DUPLICATE_TYPE:
            return (
                found + f"{process_type} is declared again; line {problem.first_line_number} "
                "already declares it. Keep one."
            )
        case ProblemKind.NOT_UTF8:
            return found + "is not UTF-8 text. Save the Procfile as UTF-8."
        case _:
            assert_never(problem.kind)


# --- Package managers and dependencies -----------------------------------------------------

_DependencyError: TypeAlias = (
    NoPackageManager
    | MultiplePackageManagers
    | UnsupportedPackageManager
    | LockfileMissing
    | InvalidPyproject
    | UnknownDependencyGroups
    | LockfileOutdated
    | PythonRejected
    | InstallerFailed
)

_SUPPORTED_MANAGERS = (
    "pycnb installs dependencies from exactly one of:\n\n"
    "  requirements.txt  with pip\n"
    "  uv.lock           with uv\n"
    "  poetry.lock       with Poetry\n"
    "  pyproject.toml    with pip, for a [project] without a lockfile"
)

# Where a private index and its credentials go, per installer.
_INDEX_SETTINGS = {
    PackageManager.PIP: "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL",
    PackageManager.PYPROJECT: "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL",
    PackageManager.UV: "UV_DEFAULT_INDEX, UV_INDEX, or UV_INDEX_<NAME>_USERNAME/_PASSWORD for "
    "an index named in pyproject.toml",
    PackageManager.POETRY: "POETRY_HTTP_BASIC_<SOURCE>_USERNAME/_PASSWORD for a source named "
    "in pyproject.toml",
}

_LOCK_COMMANDS = {"Poetry": "poetry lock", "uv": "uv lock", "PDM": "pdm lock"}

# How to leave a package manager pycnb does not support, for its own files.
_MOVING = {
    "Pipenv": (
        "Export the locked dependencies with `pipenv requirements > requirements.txt` and "
        "remove the Pipfile and Pipfile.lock, or move the project to uv or Poetry."
    ),
    "PDM": (
        "Export the locked dependencies with `pdm export --format requirements --output "
        "requirements.txt` and remove pdm.lock, or, since PDM projects use a standard "
        "[project] table, run `uv lock` and remove pdm.lock to build with uv."
    ),
}


def _render_dependencies(error: _DependencyError) -> Message:  # noqa: C901, PLR0911
    match error:
        case NoPackageManager(lookalikes=lookalikes, has_pyproject=has_pyproject):
            details = _SUPPORTED_MANAGERS
            if lookalikes:
                details += (
                    f"\n\nFound {', '.join(lookalikes)}: is it a misspelled requirements.txt?"
                )
            elif has_pyproject:
                details += (
                    "\n\nThe app has a pyproject.toml, but it has no [project] table, so it "
                    "does not say which dependencies to install."
                )
            return Message(
                "No package manager file found",
                details,
                "Add one of these files at the root of the app: a requirements.txt listing the "
                "dependencies (empty if there are none), a lockfile (`uv lock`, `poetry lock`), "
                "or a [project] table in pyproject.toml.",
            )
        case MultiplePackageManagers(found=found):
            listing = "\n".join(f"  {pm.file_name} ({pm.value})" for pm in found)
            return Message(
                "Multiple package manager files found",
                f"Exactly one package manager file must decide the app's dependencies, but the "
                f"app has:\n\n{listing}",
                "Keep the file of the package manager the app uses and delete the others.",
            )
        case UnsupportedPackageManager(file_name=file_name, tool=tool):
            return Message(
                f"{tool} is not supported",
                f"The app has a {file_name}, which is {tool}'s file.\n\n{_SUPPORTED_MANAGERS}",
                _MOVING.get(
                    tool, f"Export the dependencies to requirements.txt and remove {file_name}."
                ),
            )
        case LockfileMissing(tools=tools):
            return _render_lockfile_missing(tools)
        case InvalidPyproject(path=path, reason=reason):
            return Message(
                f"{path.name} could not be read",
                f"{path}: {reason}",
                f'Fix {path.name}; `python -c "import tomllib; tomllib.load(open('
                f"'{path.name}', 'rb'))\"` shows the same error locally.",
            )
        case UnknownDependencyGroups(
            unknown=unknown, package_manager=pm, groups=groups, extras=extras
        ):
            return _render_unknown_groups(unknown, pm, groups, extras)
        case LockfileOutdated(package_manager=pm, output=output):
            return Message(
                f"{pm.file_name} is out of date",
                f"{_tool_said(pm, output)}\n\npyproject.toml changed after {pm.file_name} was "
                f"last written, so the lockfile no longer describes the project. pycnb installs "
                "exactly what the lockfile says and never re-locks during a build.",
                f"Run `{_LOCK_COMMANDS[pm.value]}` and commit the updated {pm.file_name}.",
            )
        case PythonRejected(package_manager=pm, python_version=version, output=output):
            return Message(
                f"The project does not allow Python {version}",
                f"{_tool_said(pm, output)}\n\nThe project's Python constraint (requires-python"
                + (
                    ", or python under [tool.poetry.dependencies]"
                    if pm is PackageManager.POETRY
                    else ""
                )
                + f") in pyproject.toml excludes Python {version}.",
                "Request a Python version the project allows (in .python-version or "
                "BP_PYTHON_VERSION), or widen the constraint and run "
                f"`{_LOCK_COMMANDS[pm.value]}`.",
            )
        case InstallerFailed(package_manager=pm, command=command, returncode=code, output=output):
            said = (
                f"{_tool_said(pm, output)}\n\n"
                if output
                else f"{pm.tool}'s own error is printed above.\n\n"
            )
            return Message(
                f"Installing dependencies with {pm.tool} failed",
                f"{said}`{command}` exited with status {code}.",
                f"Run `{command}` locally to reproduce. Check that every package exists for this "
                "Python version and platform, and that the package index is reachable from the "
                "build: a private index needs its URL and credentials in the build's env "
                f"({_INDEX_SETTINGS[pm]}).",
            )
        case _:
            assert_never(error)


def _render_lockfile_missing(tools: list[tuple[str, str]]) -> Message:
    tables = ", ".join(f"[tool.{tool.lower()}]" for tool, _ in tools)
    tool, lockfile = tools[0]
    if tool == "PDM":
        return Message(
            "pdm.lock is missing, and PDM is not supported",
            f"pyproject.toml has {tables}, but there is no pdm.lock.\n\n{_SUPPORTED_MANAGERS}",
            "PDM projects use a standard [project] table, so `uv lock` turns one into a uv "
            "project; or export pinned dependencies with `pdm lock` then `pdm export --format "
            "requirements --output requirements.txt`.",
        )
    commands = " or ".join(f"`{_LOCK_COMMANDS[name]}`" for name, _ in tools)
    return Message(
        f"{lockfile} is missing",
        f"pyproject.toml has {tables}, so the app is a {tool} project, but it has no "
        f"{lockfile}. pycnb installs exactly what the lockfile says, so builds are "
        "reproducible, and never resolves dependencies itself for such a project.",
        f"Run {commands} and commit the lockfile it writes.",
    )


def _render_unknown_groups(
    unknown: list[str], pm: PackageManager, groups: list[str], extras: list[str]
) -> Message:
    names = ", ".join(unknown)
    if pm is PackageManager.PIP:
        defined = "requirements.txt has no dependency groups or extras."
        fix = f"Unset {GROUPS_SETTING}, or list the extra packages in requirements.txt."
    else:
        defined = (
            "The project defines "
            + (
                "; ".join(
                    part
                    for part in (
                        f"dependency groups: {', '.join(groups)}" if groups else "",
                        f"extras: {', '.join(extras)}" if extras else "",
                    )
                    if part
                )
                or "no dependency groups or extras"
            )
            + "."
        )
        fix = (
            f"Set {GROUPS_SETTING} to names the project defines (comma-separated), or define "
            "the group in pyproject.toml and re-lock."
        )
    return Message(
        f"Unknown dependency group in {GROUPS_SETTING}: {names}",
        f"{GROUPS_SETTING} asks for {names}, but "
        f"{'requirements.txt' if pm is PackageManager.PIP else 'pyproject.toml'} does not "
        f"define {'it' if len(unknown) == 1 else 'them'}. {defined}",
        fix,
    )


def _tool_said(pm: PackageManager, output: str) -> str:
    quoted = "\n".join(f"    {line}" for line in output.strip().splitlines())
    return f"{pm.tool} said:\n\n{quoted}"


def render_dependency_warning(warning: PyprojectWithoutLockfile) -> Message:
    match warning:
        case PyprojectWithoutLockfile():
            return Message(
                "No lockfile: the dependencies are resolved afresh on every build",
                "The app is installed from pyproject.toml, whose dependencies name ranges rather "
                "than exact versions, so two builds of the same code can install different "
                "packages.",
                "For reproducible builds, add a lockfile: `uv lock` (uv.lock) or `poetry lock` "
                "(poetry.lock), or pin every package in a requirements.txt.",
            )
        case _:
            assert_never(warning)

"""The only place that turns the buildpack's error types into prose a user reads.

Each area raises exceptions that carry facts (a path, a line, what was found). `render` says
what is wrong, where, and how to fix it. A type missing here is a bug, and mypy reports it
through `assert_never`.
"""

from __future__ import annotations

from typing import TypeAlias, assert_never

from pycnb.buildpack.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.checks import ForbiddenEnvVars
from pycnb.buildpack.download import ChecksumMismatch, DownloadFailed
from pycnb.buildpack.layers.pip import BundledPipMissing
from pycnb.buildpack.layers.venv import PipInstallFailed
from pycnb.buildpack.manifest import InvalidManifest, InvalidMirror, ManifestUnavailable
from pycnb.buildpack.output import Message
from pycnb.buildpack.package_manager import (
    MultiplePackageManagers,
    NoPackageManager,
    PackageManagerNotYetSupported,
    UnsupportedPackageManager,
)
from pycnb.buildpack.process import CommandFailed, CommandNotFound
from pycnb.buildpack.python_version import (
    InvalidPythonVersionFile,
    PythonVersion,
    PythonVersionNotAvailable,
    RequestOrigin,
)
from pycnb.buildpack.requirements import RequirementsFileMissing
from pycnb.cnb.context import ContextError

__all__ = ["BuildpackError", "render"]

BuildpackError: TypeAlias = (
    ForbiddenEnvVars
    | NoPackageManager
    | MultiplePackageManagers
    | UnsupportedPackageManager
    | PackageManagerNotYetSupported
    | InvalidPythonVersionFile
    | PythonVersionNotAvailable
    | RequirementsFileMissing
    | ManifestUnavailable
    | InvalidManifest
    | InvalidMirror
    | DownloadFailed
    | ChecksumMismatch
    | InvalidArchive
    | UnsafeArchiveMember
    | BundledPipMissing
    | PipInstallFailed
    | CommandFailed
    | CommandNotFound
    | ContextError
)

# For `except`: every type in BuildpackError.
BUILDPACK_ERRORS: tuple[type[Exception], ...] = BuildpackError.__args__

_EXAMPLE_VERSION_FILE = "For example, a .python-version file containing:\n\n    3.13"


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
        case NoPackageManager(lookalikes=lookalikes, has_pyproject=has_pyproject):
            details = "pycnb installs dependencies with pip, from a requirements.txt file."
            if lookalikes:
                details += (
                    f"\n\nFound {', '.join(lookalikes)}: is it a misspelled requirements.txt?"
                )
            elif has_pyproject:
                details += (
                    "\n\nThe app has a pyproject.toml but no requirements.txt. "
                    "Installing straight from pyproject.toml is not supported yet."
                )
            return Message(
                "No package manager file found",
                details,
                "Add a requirements.txt file at the root of the app listing its dependencies "
                "(it may be empty if there are none). For example:\n\n    flask==3.1.0",
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
                f"The app has a {file_name}, which is {tool}'s file. pycnb installs "
                "dependencies with pip (requirements.txt).",
                f"Export the dependencies to a requirements.txt file and remove {file_name}. "
                f"For example, for {tool}: see its documentation on exporting requirements.",
            )
        case PackageManagerNotYetSupported(package_manager=pm):
            return Message(
                f"{pm.value} projects are not supported yet",
                f"The app has a {pm.file_name}. This version of pycnb installs dependencies with "
                "pip, from requirements.txt.",
                f"Export the locked dependencies to requirements.txt and remove {pm.file_name}.",
            )
        case InvalidPythonVersionFile(path=path, line_number=number, line=line, reason=reason):
            where = f"{path.name}, line {number}" if number else path.name
            shown = f"\n\nFound: {line!r}" if line is not None else ""
            return Message(
                f"Invalid Python version in {path.name}",
                f"{where}: {reason}.{shown}\n\nThe file must name one version as X.Y (such as "
                "3.13) or X.Y.Z (such as 3.13.1). Lines starting with # are comments.",
                f"Fix {path.name}. {_EXAMPLE_VERSION_FILE}",
            )
        case PythonVersionNotAvailable(requested=requested, available=available):
            source = (
                "" if requested.origin is RequestOrigin.DEFAULT else f" ({requested.origin.value})"
            )
            return Message(
                f"Python {requested} is not available",
                f"The app asks for Python {requested}{source}, but the runtime manifest has no "
                f"such version for this platform.\n\nAvailable versions: "
                f"{_summarize_versions(available)}",
                "Request one of the available versions. Requesting X.Y (for example 3.13) gets "
                "the newest patch release, with its security fixes, automatically.",
            )
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

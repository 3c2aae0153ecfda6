"""How installing the app's dependencies fails, and what the tools said about it.

The types the dependency steps raise or report, and `classify_failure`, which reads a tool's
output for the failures that deserve their own fix. Rendered in `messages/dependencies.py`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.commands import CommandFailed
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.errors import DependencyError

__all__ = [
    "InstallerFailed",
    "LockFormatUnsupported",
    "LockfileOutdated",
    "PipInstallFailed",
    "PythonRejected",
    "RootProjectSkipped",
    "ToolFailures",
    "ToolInstallFailed",
    "classify_failure",
    "describe_lock_format",
    "root_not_installable",
]


@dataclass
class ToolInstallFailed(DependencyError):
    """uv could not install one of the buildpack's tools from the package index."""

    tool: str  # as the log names it: "Poetry"
    requirement: str  # what was asked of the index: "poetry==2.5.1"
    returncode: int
    output: str  # uv's own output

    def __str__(self) -> str:
        return f"installing {self.requirement} exited with status {self.returncode}"


@dataclass
class PipInstallFailed(DependencyError):
    requirements_file: str
    returncode: int

    def __str__(self) -> str:
        return f"pip install -r {self.requirements_file} exited with status {self.returncode}"


@dataclass(frozen=True)
class RootProjectSkipped:
    """A warning: the app's own package could not be installed, only its dependencies were."""

    package_manager: PackageManager
    output: str  # what the tool said when installing the project failed


@dataclass
class InstallerFailed(DependencyError):
    """The installer failed for a reason pycnb does not recognise."""

    package_manager: PackageManager
    command: str  # the visible part, such as "uv sync --locked --no-default-groups"
    returncode: int
    output: str | None  # the tool's output when captured; None when it was streamed above

    def __str__(self) -> str:
        return f"{self.command} exited with status {self.returncode}"


@dataclass
class LockfileOutdated(DependencyError):
    """The lockfile no longer matches pyproject.toml, as the tool itself reported."""

    package_manager: PackageManager
    output: str  # the tool's own message

    def __str__(self) -> str:
        return f"{self.package_manager.file_name} is out of date"


@dataclass
class LockFormatUnsupported(DependencyError):
    """The tool cannot read the lockfile's format (too old, or newer than the pinned tool)."""

    package_manager: PackageManager
    lock_format: str  # as the lockfile names it: "lock_version 3.1"; "" when unreadable
    output: str  # the tool's own message

    def __str__(self) -> str:
        return f"{self.package_manager.file_name} format {self.lock_format} is not readable"


@dataclass
class PythonRejected(DependencyError):
    """The tool refused the Python version: the project's constraint excludes it."""

    package_manager: PackageManager
    python_version: str
    output: str  # the tool's own message, which quotes the constraint

    def __str__(self) -> str:
        return f"{self.package_manager.value} rejected Python {self.python_version}"


@dataclass(frozen=True)
class ToolFailures:
    """The tool's wording, at its pinned version, for failures that deserve their own fix.

    A bump that changes the wording falls back to `InstallerFailed`, which still shows the tool's
    message; the unit tests pin these against the tools' real output.
    """

    lock_outdated: str | None = None
    python_rejected: str | None = None
    lock_format: str | None = None  # the lockfile's format is one the tool cannot read
    # The project itself could not be installed (no package directory, a build system that
    # cannot build it); `{app_dir}` stands for the app's directory. The tool then runs again
    # with `skip_root_args`, which install the dependencies only.
    root_not_installable: str | None = None
    skip_root_args: tuple[str, ...] = ()


def root_not_installable(failures: ToolFailures, error: CommandFailed, app_dir: Path) -> bool:
    if failures.root_not_installable is None or not failures.skip_root_args:
        return False
    return failures.root_not_installable.format(app_dir=app_dir) in (error.output or "")


def classify_failure(
    package_manager: PackageManager,
    error: CommandFailed,
    failures: ToolFailures,
    *,
    python_version: str,
    command: str,
    lock_format: str = "",
) -> LockFormatUnsupported | LockfileOutdated | PythonRejected | InstallerFailed:
    """`lock_format`: the lockfile's format as it names it, for the message."""
    output = error.output or ""
    if failures.lock_format is not None and failures.lock_format in output:
        return LockFormatUnsupported(package_manager, lock_format, output)
    if failures.lock_outdated is not None and failures.lock_outdated in output:
        return LockfileOutdated(package_manager, output)
    if failures.python_rejected is not None and failures.python_rejected in output:
        return PythonRejected(package_manager, python_version, output)
    return InstallerFailed(package_manager, command, error.returncode, error.output)


# Where each lockfile names its format.
_FORMAT_KEYS = {
    PackageManager.POETRY: ("metadata", "lock-version"),
    PackageManager.PDM: ("metadata", "lock_version"),
    PackageManager.UV: ("version",),
}


def describe_lock_format(package_manager: PackageManager, app_dir: Path) -> str:
    """`lock-version 1.1`, `lock_version 4.1`, `pipfile-spec 6`: the format of the app's
    lockfile as it names it; "" when it names none or cannot be read."""
    path = app_dir / package_manager.file_name
    try:
        text = path.read_text(encoding="utf-8")
        if package_manager is PackageManager.PIPENV:
            spec = json.loads(text).get("_meta", {}).get("pipfile-spec")
            return f"pipfile-spec {spec}" if spec is not None else ""
        keys = _FORMAT_KEYS.get(package_manager)
        if keys is None:
            return ""
        value: object = tomllib.loads(text)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return ""
    return f"{keys[-1]} {value}" if value is not None else ""

"""What every installer shares: its inputs, running the tool, and reading the tool's failures.

An installer fills the venv (see `venv.py` for when it runs at all). Most are one command of a
tool (`uv sync`, `poetry sync`, `pip install .`): a `ToolRun`, which a tool module builds from
data (argv, env, its wording for known failures). Only pip with requirements.txt needs more steps
of its own (`pip.py`), since pip never removes what the requirements stopped listing.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import CommandFailed, run_captured, run_streamed
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.trust import TlsClient, trust_env
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.output import Output

__all__ = [
    "SOURCE_DATE_EPOCH",
    "Installer",
    "InstallerFailed",
    "LockFormatUnsupported",
    "LockfileOutdated",
    "PythonRejected",
    "ToolFailures",
    "ToolRun",
    "VenvInputs",
    "classify_failure",
    "describe_lock_format",
]

# pip's ZIP handling rejects dates before 1980, and with this set py_compile writes hash-based
# .pyc files, which stay valid after the lifecycle resets mtimes to 1980 on export. Every tool
# compiles through py_compile's default, so all honour it (the integration tests check the .pyc
# headers).
SOURCE_DATE_EPOCH = "315532801"


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
class VenvInputs:
    """What decides the venv's content, as one installer sees it."""

    package_manager: PackageManager
    installer_version: str
    requirements_digest: str
    project_digest: str = ""
    groups: GroupSelection = field(default_factory=GroupSelection)
    # Why this venv may never be reused, whatever the metadata says.
    not_reusable: tuple[str, ...] = ()
    # Venv metadata fields whose change means starting from an empty venv with this installer,
    # beyond those that always do (for a tool whose sync would keep what they added).
    recreate_on: tuple[str, ...] = ()


class Installer(Protocol):
    """One way to fill the venv."""

    @property
    def inputs(self) -> VenvInputs: ...

    @property
    def syncs(self) -> bool:
        """True when the installer makes the venv match the lock exactly, removing packages
        that were dropped, so an existing venv is a safe starting point."""
        ...

    @property
    def command(self) -> str:
        """What is skipped when the venv is reused, as a user would type it: `uv sync`."""
        ...

    def install(self, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        """Fill the venv the installer was made for (see `venv.venv_of`)."""
        ...


@dataclass(frozen=True)
class ToolFailures:
    """The tool's wording, at its pinned version, for failures that deserve their own fix.

    A bump that changes the wording falls back to `InstallerFailed`, which still shows the tool's
    message; the unit tests pin these against the tools' real output.
    """

    lock_outdated: str | None = None
    python_rejected: str | None = None
    lock_format: str | None = None  # the lockfile's format is one the tool cannot read


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


@dataclass(frozen=True)
class ToolRun:
    """An installer that is one run of a tool, described by data.

    `args` decide what gets installed and are what the log shows after the tool's name;
    `hidden_args` only tune how (bytecode, progress output). `env` is added to the build's env,
    and `env_defaults` only where the user has not set the variable. `check_args`, when given,
    run the tool once before, to check the lock without installing (`pipenv verify`); its
    failures read like the install's.
    """

    inputs: VenvInputs
    tool: str  # as the user types it: "uv", "poetry", "pip"
    executable: Sequence[str]  # the argv that starts the tool
    args: Sequence[str]
    hidden_args: Sequence[str]
    env: Mapping[str, str]
    env_defaults: Mapping[str, str]
    step: str  # "Installing dependencies from uv.lock with uv"
    python_version: str
    syncs: bool
    failures: ToolFailures = ToolFailures()
    path_prepend: Sequence[Path] = ()  # directories the tool must find first on PATH
    tls: TlsClient = TlsClient.PIP  # how the tool is told to trust the system's certificates
    # pip prints its own progress as it goes; uv and Poetry are captured and shown as details,
    # so that their failures can be read and explained.
    stream: bool = False
    check_args: Sequence[str] = ()
    # (python, tree): compile the tree to hash-based .pyc files after the tool ran, for a tool
    # that writes none itself (PDM).
    bytecode: tuple[Path, Path] | None = None

    @property
    def command(self) -> str:
        return f"{self.tool} {self.args[0]}"

    @property
    def shown(self) -> str:
        return " ".join((self.tool, *self.args))

    def install(self, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        argv = [*self.executable, *self.args, *self.hidden_args]
        tool_env = {**self.env_defaults, **trust_env(self.tls, env), **env, **self.env}
        if self.path_prepend:
            tool_env["PATH"] = ":".join((*map(str, self.path_prepend), env.get("PATH", "")))
        with out.step(self.step):
            if self.check_args:
                check = " ".join((self.tool, *self.check_args))
                self._run([*self.executable, *self.check_args], check, tool_env, app_dir, out)
            self._run(argv, self.shown, tool_env, app_dir, out)
            if self.bytecode is not None:
                python, tree = self.bytecode
                compile_tree(python, tree, env=tool_env, cwd=app_dir)

    def lock_format(self, app_dir: Path) -> str:
        """The lockfile's format, as it names it, for messages; "" when it says none."""
        return describe_lock_format(self.inputs.package_manager, app_dir)

    def _run(
        self, argv: list[str], shown: str, env: Mapping[str, str], app_dir: Path, out: Output
    ) -> None:
        if not self.stream:
            out.detail(f"Running: {shown}")
        try:
            if self.stream:
                run_streamed(argv, env=env, cwd=app_dir)
                return
            output = run_captured(argv, env=env, cwd=app_dir)
        except CommandFailed as error:
            raise classify_failure(
                self.inputs.package_manager,
                error,
                self.failures,
                python_version=self.python_version,
                command=shown,
                lock_format=self.lock_format(app_dir),
            ) from None
        for line in output.splitlines():
            if line.strip():
                out.detail(line.strip())


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

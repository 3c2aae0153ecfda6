"""What every installer shares: its inputs, running the tool, and reading the tool's failures.

An installer fills the venv (see `venv.py` for when it runs at all). Most are one command of a
tool (`uv sync`, `poetry sync`, `pip install .`): a `ToolRun`, which a tool module builds from
data (argv, env, its wording for known failures). Only pip with requirements.txt needs more steps
of its own (`pip.py`), since pip never removes what the requirements stopped listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import CommandFailed, run_captured, run_streamed
from pycnb.buildpack.dependencies.failures import (
    RootProjectSkipped,
    ToolFailures,
    classify_failure,
    describe_lock_format,
    root_not_installable,
)
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.trust import TlsClient, trust_env
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.messages.dependencies import render_dependency_warning
from pycnb.buildpack.output import Output

__all__ = ["SOURCE_DATE_EPOCH", "Installer", "ToolRun", "VenvInputs"]

# pip's ZIP handling rejects dates before 1980, and with this set py_compile writes hash-based
# .pyc files, which stay valid after the lifecycle resets mtimes to 1980 on export. Every tool
# compiles through py_compile's default, so all honour it (the integration tests check the .pyc
# headers).
SOURCE_DATE_EPOCH = "315532801"


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
    step: str  # "Installing dependencies from uv.lock with uv"
    python_version: str
    syncs: bool
    failures: ToolFailures
    env_defaults: Mapping[str, str] = field(default_factory=dict)
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
        tool_env = {**self.env_defaults, **trust_env(self.tls, env), **env, **self.env}
        if self.path_prepend:
            tool_env["PATH"] = ":".join((*map(str, self.path_prepend), env.get("PATH", "")))
        with out.step(self.step):
            if self.check_args:
                try:
                    self._run(self.check_args, app_dir=app_dir, env=tool_env, out=out, hidden=())
                except CommandFailed as error:
                    raise self._classified(error, app_dir, self.check_args) from None
            try:
                self._run(self.args, app_dir=app_dir, env=tool_env, out=out)
            except CommandFailed as error:
                if not root_not_installable(self.failures, error, app_dir):
                    raise self._classified(error, app_dir, self.args) from None
                # Dependencies are in by now; the app's own code runs from the app dir anyway.
                out.warning(
                    render_dependency_warning(
                        RootProjectSkipped(self.inputs.package_manager, error.output or "")
                    )
                )
                args = [*self.args, *self.failures.skip_root_args]
                try:
                    self._run(args, app_dir=app_dir, env=tool_env, out=out)
                except CommandFailed as again:
                    raise self._classified(again, app_dir, args) from None
            if self.bytecode is not None:
                python, tree = self.bytecode
                compile_tree(python, tree, env=tool_env, cwd=app_dir)

    def _run(
        self,
        args: Sequence[str],
        *,
        app_dir: Path,
        env: Mapping[str, str],
        out: Output,
        hidden: Sequence[str] | None = None,
    ) -> None:
        """`hidden`: the arguments the log does not show; the install's `hidden_args` unless
        given (a check takes none of them)."""
        argv = [*self.executable, *args, *(self.hidden_args if hidden is None else hidden)]
        if self.stream:
            run_streamed(argv, env=env, cwd=app_dir)
            return
        out.detail("Running: " + " ".join((self.tool, *args)))
        for line in run_captured(argv, env=env, cwd=app_dir).splitlines():
            if line.strip():
                out.detail(line.strip())

    def _classified(
        self, error: CommandFailed, app_dir: Path, args: Sequence[str]
    ) -> DependencyError:
        return classify_failure(
            self.inputs.package_manager,
            error,
            self.failures,
            python_version=self.python_version,
            command=" ".join((self.tool, *args)),
            lock_format=describe_lock_format(self.inputs.package_manager, app_dir),
        )

"""Running installers: argv lists, a full env passed in, and typed failures.

Never `shell=True` and never an inherited `os.environ`: the caller builds the child's whole env,
so nothing from the buildpack's own process leaks into a tool by accident.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.errors import BuildpackError

__all__ = ["CommandFailed", "CommandNotFound", "run_captured", "run_streamed"]


@dataclass
class CommandNotFound(BuildpackError):
    program: str  # argv[0] as given
    reason: str  # the OS error

    def __str__(self) -> str:
        return f"could not run {self.program}: {self.reason}"


@dataclass
class CommandFailed(BuildpackError):
    argv: tuple[str, ...]
    returncode: int
    output: str | None  # captured stdout+stderr, when the command ran captured

    def __str__(self) -> str:
        return f"{shlex.join(self.argv)} exited with status {self.returncode}"


def run_streamed(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
    """Run with output going straight to the build log."""
    _run(argv, env=env, cwd=cwd, capture=False)


def run_captured(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
    """Run quietly; return stdout+stderr, which `CommandFailed` carries on failure."""
    return _run(argv, env=env, cwd=cwd, capture=True) or ""


def _run(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, capture: bool) -> str | None:
    try:
        completed = subprocess.run(
            list(argv),
            env=dict(env),
            cwd=cwd,
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            text=capture,
            errors="replace" if capture else None,
        )
    except OSError as error:
        raise CommandNotFound(argv[0], error.strerror or str(error)) from None
    if completed.returncode != 0:
        raise CommandFailed(tuple(argv), completed.returncode, completed.stdout)
    output: str | None = completed.stdout
    return output

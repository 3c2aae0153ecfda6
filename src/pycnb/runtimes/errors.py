"""What goes wrong making runtimes from this machine's CPython installs (`local_python`).

Apart from that module so the CLI can name them without loading it: only a build with no
runtime manifest given needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LocalPythonError",
    "NoLocalPythons",
    "NotAnInstall",
    "PatchelfFailed",
    "PatchelfMissing",
    "RuntimeBuildFailed",
    "RuntimeSelfCheckFailed",
]


class LocalPythonError(Exception):
    pass


@dataclass
class NoLocalPythons(LocalPythonError):
    def __str__(self) -> str:
        return (
            "found no CPython >= 3.10 on this machine (looked through pyenv, uv and PATH); "
            "install one, or set BP_PYTHON_MANIFEST (--env) to a manifest of runtimes"
        )


@dataclass
class NotAnInstall(LocalPythonError):
    prefix: Path  # the prefix given
    missing: Path  # the file or dir a CPython install must have there

    def __str__(self) -> str:
        return f"{self.prefix} is not a CPython install: no {self.missing}"


@dataclass
class PatchelfMissing(LocalPythonError):
    searched: list[str]  # the places looked at, in order

    def __str__(self) -> str:
        return "patchelf not found (looked in: " + ", ".join(self.searched) + ")"


@dataclass
class PatchelfFailed(LocalPythonError):
    argv: list[str]  # the patchelf command
    returncode: int  # its exit status
    stderr: str  # what it said

    def __str__(self) -> str:
        return f"{' '.join(self.argv)} exited {self.returncode}: {self.stderr.strip()}"


@dataclass
class RuntimeBuildFailed(LocalPythonError):
    prefix: Path  # the install being packed
    reason: str  # the I/O error met while reading it or writing the archive

    def __str__(self) -> str:
        return f"cannot pack {self.prefix}: {self.reason}"


@dataclass
class RuntimeSelfCheckFailed(LocalPythonError):
    prefix: Path  # the install that was packed
    relocated_to: Path  # where the archive was extracted for the check
    reason: str  # what went wrong: exit status and stderr, or the unexpected output

    def __str__(self) -> str:
        return f"runtime from {self.prefix} fails at {self.relocated_to}: {self.reason}"

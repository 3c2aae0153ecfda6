"""Which package manager installs the app's dependencies: exactly one file decides.

In order: requirements.txt, poetry.lock or uv.lock (more than one is an error); then the files of
managers pycnb does not support (Pipfile, pdm.lock), which get an error saying how to move; then
pyproject.toml, which pip installs when it is a plain PEP 621 project, and which is an error when
it belongs to a tool whose lockfile is missing (the build would otherwise ignore the lock the
user meant to write).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.project import PYPROJECT, Pyproject

__all__ = [
    "LockfileMissing",
    "MultiplePackageManagers",
    "NoPackageManager",
    "PackageManager",
    "PackageManagerError",
    "PyprojectWithoutLockfile",
    "UnsupportedPackageManager",
    "determine_package_manager",
]


class PackageManager(Enum):
    PIP = "pip"
    POETRY = "Poetry"
    UV = "uv"
    # No lockfile: pip installs the project itself, from its pyproject.toml.
    PYPROJECT = "pip (pyproject.toml)"

    @property
    def file_name(self) -> str:
        return _FILES[self]

    @property
    def tool(self) -> str:
        """The program that installs: `pip` for both pip flavours."""
        return "pip" if self is PackageManager.PYPROJECT else self.value

    @property
    def settings_prefix(self) -> str:
        """The env vars that configure the tool (an index URL changes what gets installed)."""
        return _SETTINGS_PREFIX[self]

    @property
    def project_files(self) -> tuple[str, ...]:
        """The files besides the lockfile that decide what the tool does."""
        return _PROJECT_FILES[self]


_FILES = {
    PackageManager.PIP: "requirements.txt",
    PackageManager.POETRY: "poetry.lock",
    PackageManager.UV: "uv.lock",
    PackageManager.PYPROJECT: PYPROJECT,
}

_SETTINGS_PREFIX = {
    PackageManager.PIP: "PIP_",
    PackageManager.PYPROJECT: "PIP_",
    PackageManager.UV: "UV_",
    PackageManager.POETRY: "POETRY_",
}

_PROJECT_FILES = {
    PackageManager.PIP: (),
    PackageManager.PYPROJECT: (PYPROJECT,),
    PackageManager.UV: (PYPROJECT, "uv.toml"),
    PackageManager.POETRY: (PYPROJECT, "poetry.toml"),
}

# The files that each name one package manager; exactly one of them may exist.
_DECIDING = (PackageManager.PIP, PackageManager.POETRY, PackageManager.UV)

# `[tool.X]` tables that mean "this project is managed by X", with X's lockfile.
_LOCKING_TOOLS = {
    "poetry": ("Poetry", "poetry.lock"),
    "uv": ("uv", "uv.lock"),
    "pdm": ("PDM", "pdm.lock"),
}

# Files that name a package manager pycnb does not support (yet), with what to use instead.
_UNSUPPORTED = {
    "Pipfile": "Pipenv",
    "Pipfile.lock": "Pipenv",
    "pdm.lock": "PDM",
}

# Near misses of requirements.txt: enough to say "did you mean".
_REQUIREMENTS_LOOKALIKES = (
    "requirement.txt",
    "Requirements.txt",
    "requirements.text",
    "requirements.txt.txt",
    "requirments.txt",
    "requirements",
    "requirements-prod.txt",
    "requirements.in",
)


class PackageManagerError(DependencyError):
    pass


@dataclass
class NoPackageManager(PackageManagerError):
    lookalikes: list[str]  # files that look like a misspelled requirements.txt
    has_pyproject: bool  # a pyproject.toml exists, but no lockfile or requirements.txt


@dataclass
class MultiplePackageManagers(PackageManagerError):
    found: list[PackageManager]


@dataclass
class UnsupportedPackageManager(PackageManagerError):
    file_name: str  # for example Pipfile
    tool: str  # for example Pipenv


@dataclass
class LockfileMissing(PackageManagerError):
    # (tool, its lockfile) for each `[tool.X]` table found, such as ("Poetry", "poetry.lock")
    tools: list[tuple[str, str]]


@dataclass(frozen=True)
class PyprojectWithoutLockfile:
    """A warning: pip installs from pyproject.toml, so every build resolves afresh."""


def determine_package_manager(app_dir: Path, pyproject: Pyproject | None) -> PackageManager:
    """`pyproject` is the app's parsed pyproject.toml, if it has one."""
    found = [pm for pm in _DECIDING if (app_dir / pm.file_name).is_file()]
    if len(found) > 1:
        raise MultiplePackageManagers(found)
    if found:
        return found[0]
    for file_name, tool in _UNSUPPORTED.items():
        if (app_dir / file_name).is_file():
            raise UnsupportedPackageManager(file_name, tool)
    if pyproject is not None:
        if tools := [_LOCKING_TOOLS[name] for name in pyproject.tool_tables]:
            raise LockfileMissing(tools)
        if pyproject.has_project_table:
            return PackageManager.PYPROJECT
    raise NoPackageManager(
        lookalikes=[name for name in _REQUIREMENTS_LOOKALIKES if (app_dir / name).exists()],
        has_pyproject=pyproject is not None,
    )

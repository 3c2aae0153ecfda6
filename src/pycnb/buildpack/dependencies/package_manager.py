"""Which package manager installs the app's dependencies: exactly one file decides.

In order: requirements.txt, poetry.lock, uv.lock, Pipfile.lock or pdm.lock (more than one is an
error, except for a requirements.txt that is an export of the one lockfile beside it: see
`exported.py`); then a Pipfile without its lock, which is an error naming `pipenv lock`; then
pyproject.toml, which pip installs when it is a plain PEP 621 project, and which is an error when
it belongs to a tool whose lockfile is missing (the build would otherwise ignore the lock the
user meant to write).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pycnb.buildpack.dependencies.exported import ExportedRequirements, export_of
from pycnb.buildpack.dependencies.pipfile import PIPFILE, PIPFILE_LOCK
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.project import PYPROJECT, Pyproject

__all__ = [
    "LockfileMissing",
    "MultiplePackageManagers",
    "NoPackageManager",
    "PackageManager",
    "PackageManagerError",
    "PipfileMissing",
    "PyprojectWithoutLockfile",
    "determine_package_manager",
    "requirements_export",
]


class PackageManager(Enum):
    PIP = "pip"
    POETRY = "Poetry"
    UV = "uv"
    PIPENV = "Pipenv"
    PDM = "PDM"
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
    PackageManager.PIPENV: PIPFILE_LOCK,
    PackageManager.PDM: "pdm.lock",
    PackageManager.PYPROJECT: PYPROJECT,
}

_SETTINGS_PREFIX = {
    PackageManager.PIP: "PIP_",
    PackageManager.PYPROJECT: "PIP_",
    PackageManager.UV: "UV_",
    PackageManager.POETRY: "POETRY_",
    # Both PIPENV_* and the PIP_* settings of the pip that Pipenv runs (PIP_EXTRA_INDEX_URL...).
    PackageManager.PIPENV: "PIP",
    PackageManager.PDM: "PDM_",
}

_PROJECT_FILES = {
    PackageManager.PIP: (),
    PackageManager.PYPROJECT: (PYPROJECT,),
    PackageManager.UV: (PYPROJECT, "uv.toml"),
    PackageManager.POETRY: (PYPROJECT, "poetry.toml"),
    # Pipenv reads no pyproject.toml; `[requires]`, sources and categories are in the Pipfile.
    PackageManager.PIPENV: (PIPFILE,),
    PackageManager.PDM: (PYPROJECT, "pdm.toml"),
}

# The files that each name one package manager; exactly one of them may exist.
_DECIDING = (
    PackageManager.PIP,
    PackageManager.POETRY,
    PackageManager.UV,
    PackageManager.PIPENV,
    PackageManager.PDM,
)

# `[tool.X]` tables that mean "this project is managed by X", with X's lockfile.
_LOCKING_TOOLS = {
    "poetry": ("Poetry", "poetry.lock"),
    "uv": ("uv", "uv.lock"),
    "pdm": ("PDM", "pdm.lock"),
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
class LockfileMissing(PackageManagerError):
    # (tool, its lockfile) for each `[tool.X]` table found, such as ("Poetry", "poetry.lock"),
    # or ("Pipenv", "Pipfile.lock") for a Pipfile
    tools: list[tuple[str, str]]
    found_in: str = PYPROJECT  # the file that says which tool: pyproject.toml or Pipfile


@dataclass
class PipfileMissing(PackageManagerError):
    """Pipfile.lock without its Pipfile: Pipenv cannot check that the lock is current."""


@dataclass(frozen=True)
class PyprojectWithoutLockfile:
    """A warning: pip installs from pyproject.toml, so every build resolves afresh."""


def determine_package_manager(app_dir: Path, pyproject: Pyproject | None) -> PackageManager:
    """`pyproject` is the app's parsed pyproject.toml, if it has one."""
    found = [pm for pm in _DECIDING if (app_dir / pm.file_name).is_file()]
    # requirements.txt and one lockfile: the first may be an export of the second.
    pair = len(found) == 2 and found[0] is PackageManager.PIP  # noqa: PLR2004
    if pair and requirements_export(app_dir, found[1]) is not None:
        found = [found[1]]
    if len(found) > 1:
        raise MultiplePackageManagers(found)
    if found == [PackageManager.PIPENV] and not (app_dir / PIPFILE).is_file():
        raise PipfileMissing
    if found:
        return found[0]
    if (app_dir / PIPFILE).is_file():
        raise LockfileMissing([("Pipenv", PIPFILE_LOCK)], found_in=PIPFILE)
    if pyproject is not None:
        if tools := [_LOCKING_TOOLS[name] for name in pyproject.tool_tables]:
            raise LockfileMissing(tools)
        if pyproject.has_project_table:
            return PackageManager.PYPROJECT
    raise NoPackageManager(
        lookalikes=[name for name in _REQUIREMENTS_LOOKALIKES if (app_dir / name).exists()],
        has_pyproject=pyproject is not None,
    )


def requirements_export(app_dir: Path, lock: PackageManager) -> ExportedRequirements | None:
    """Whether the app's requirements.txt is an export of `lock`'s lockfile (and why)."""
    try:
        requirements = (app_dir / _FILES[PackageManager.PIP]).read_text(encoding="utf-8")
        lock_content = (app_dir / lock.file_name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return export_of(requirements, lock.file_name, lock_content)

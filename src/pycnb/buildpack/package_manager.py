"""Which package manager installs the app's dependencies: exactly one file decides."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = [
    "MultiplePackageManagers",
    "NoPackageManager",
    "PackageManager",
    "PackageManagerError",
    "UnsupportedPackageManager",
    "determine_package_manager",
]


class PackageManager(Enum):
    PIP = "pip"
    POETRY = "Poetry"
    UV = "uv"

    @property
    def file_name(self) -> str:
        return _FILES[self]


_FILES = {
    PackageManager.PIP: "requirements.txt",
    PackageManager.POETRY: "poetry.lock",
    PackageManager.UV: "uv.lock",
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


class PackageManagerError(Exception):
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


# TODO: remove once Poetry and uv support lands (issue 4); until then their lockfiles are named
# so the error can say so, instead of claiming no package manager file exists.
@dataclass
class PackageManagerNotYetSupported(PackageManagerError):
    package_manager: PackageManager


def determine_package_manager(app_dir: Path) -> PackageManager:
    found = [pm for pm in PackageManager if (app_dir / pm.file_name).is_file()]
    if len(found) > 1:
        raise MultiplePackageManagers(found)
    if found:
        if found[0] is not PackageManager.PIP:
            raise PackageManagerNotYetSupported(found[0])
        return found[0]
    for file_name, tool in _UNSUPPORTED.items():
        if (app_dir / file_name).is_file():
            raise UnsupportedPackageManager(file_name, tool)
    raise NoPackageManager(
        lookalikes=[name for name in _REQUIREMENTS_LOOKALIKES if (app_dir / name).exists()],
        has_pyproject=(app_dir / "pyproject.toml").is_file(),
    )

"""BP_PYTHON_GROUPS: the dependency groups and extras installed beyond the main dependencies.

The default is none, so a production image never gets dev tools by accident. Every requested
name is checked against the project before any tool runs, so a typo fails in a second with the
list of names that exist, not after an install with a tool's own wording. Names compare
normalized (PEP 503, as PEP 685 and PEP 735 ask), but tools are passed the spelling the project
uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pipfile import DEV_CATEGORY, Pipfile
from pycnb.buildpack.errors import DependencyError
from pycnb.buildpack.project import Pyproject, normalize_name

__all__ = [
    "GROUPS_SETTING",
    "GroupSelection",
    "UnknownDependencyGroups",
    "parse_groups_setting",
    "select_groups",
]

GROUPS_SETTING = "BP_PYTHON_GROUPS"


@dataclass
class UnknownDependencyGroups(DependencyError):
    unknown: list[str]  # requested names the project does not define, as the user wrote them
    package_manager: PackageManager
    groups: list[str]  # what the project defines, as spelled there
    extras: list[str]

    def __str__(self) -> str:
        return f"unknown dependency groups: {', '.join(self.unknown)}"


@dataclass(frozen=True)
class GroupSelection:
    groups: tuple[str, ...] = ()  # dependency groups, as the project spells them
    extras: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return _ordered_unique((*self.groups, *self.extras))

    @property
    def key(self) -> str:
        """For layer metadata: normalized, sorted, `(none)` when empty. Parentheses never occur
        in a valid name, so no group can be mistaken for the empty selection."""
        return ",".join(sorted({normalize_name(n) for n in self.names})) or "(none)"


def parse_groups_setting(value: str | None) -> tuple[str, ...]:
    """`"dev, docs,,"` -> `("dev", "docs")`: comma-separated, blanks dropped, first one kept."""
    if value is None:
        return ()
    return _ordered_unique(tuple(name.strip() for name in value.split(",") if name.strip()))


# Other names of a group, per tool: Pipenv's `[dev-packages]` is the `develop` section of its lock.
_ALIASES = {PackageManager.PIPENV: {"develop": DEV_CATEGORY}}


def select_groups(
    requested: tuple[str, ...],
    package_manager: PackageManager,
    pyproject: Pyproject | None,
    pipfile: Pipfile | None = None,
) -> GroupSelection:
    """Map each requested name to the project's groups or extras (a name may be both).
    For Pipenv, the groups are the Pipfile's package categories beyond `[packages]`."""
    if not requested:
        return GroupSelection()
    groups, extras = _available(package_manager, pyproject, pipfile)
    by_group = {normalize_name(name): name for name in groups}
    for alias, name in _ALIASES.get(package_manager, {}).items():
        if normalize_name(name) in by_group:
            by_group.setdefault(normalize_name(alias), by_group[normalize_name(name)])
    by_extra = {normalize_name(name): name for name in extras}
    unknown = [
        name
        for name in requested
        if normalize_name(name) not in by_group and normalize_name(name) not in by_extra
    ]
    if unknown:
        raise UnknownDependencyGroups(unknown, package_manager, list(groups), list(extras))
    wanted = [normalize_name(name) for name in requested]
    return GroupSelection(
        groups=_ordered_unique(tuple(by_group[n] for n in wanted if n in by_group)),
        extras=_ordered_unique(tuple(by_extra[n] for n in wanted if n in by_extra)),
    )


def _available(
    package_manager: PackageManager, pyproject: Pyproject | None, pipfile: Pipfile | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if package_manager is PackageManager.PIPENV:
        # Pipenv has categories, and no extras of the app's own.
        return (pipfile.categories() if pipfile is not None else ()), ()
    return _project_groups(package_manager, pyproject)


def _project_groups(  # noqa: PLR0911 (one return per package manager)
    package_manager: PackageManager, pyproject: Pyproject | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if pyproject is None:
        return (), ()
    match package_manager:
        case PackageManager.PIP:
            return (), ()  # requirements.txt has no groups, whatever pyproject.toml says
        case PackageManager.UV:
            return pyproject.uv_groups(), pyproject.optional_dependencies()
        case PackageManager.POETRY:
            return pyproject.poetry_groups(), pyproject.poetry_extras()
        case PackageManager.PDM:
            return pyproject.pdm_groups(), pyproject.optional_dependencies()
        case PackageManager.PYPROJECT:
            return pyproject.dependency_groups(), pyproject.optional_dependencies()
        case PackageManager.PIPENV:
            return (), ()  # its groups are in the Pipfile (see `_available`)


def _ordered_unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))

"""pyproject.toml, read once: which tool a project belongs to, and its groups and extras.

Reading (`read_pyproject`) is separate from parsing (`parse_pyproject`, pure) and from the
questions asked of the parsed table. Only the tables pycnb relies on are checked for shape; a
malformed table elsewhere is the tools' business, and they say so in their own words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.buildpack.errors import DependencyError

__all__ = [
    "PYPROJECT",
    "InvalidPyproject",
    "Pyproject",
    "normalize_name",
    "parse_pyproject",
    "read_pyproject",
]

PYPROJECT = "pyproject.toml"

# Tools whose `[tool.X]` table marks a project as managed by them, in the order they are named.
_TOOL_TABLES = ("poetry", "uv", "pdm")


@dataclass
class InvalidPyproject(DependencyError):
    path: Path
    reason: str  # tomllib's message (it includes line and column), or which table is malformed

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def normalize_name(name: str) -> str:
    """PEP 503 normalization, which PEP 685 (extras) and PEP 735 (groups) also use."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pyproject:
    path: Path
    data: Mapping[str, Any]

    @property
    def has_project_table(self) -> bool:
        return isinstance(self.data.get("project"), dict)

    @property
    def tool_tables(self) -> tuple[str, ...]:
        """Which of `[tool.poetry]`, `[tool.uv]`, `[tool.pdm]` the file has."""
        tools = self.data.get("tool")
        if not isinstance(tools, dict):
            return ()
        return tuple(name for name in _TOOL_TABLES if name in tools)

    def dependency_groups(self) -> tuple[str, ...]:
        """PEP 735 `[dependency-groups]`, as spelled in the file."""
        return tuple(self._table("dependency-groups"))

    def optional_dependencies(self) -> tuple[str, ...]:
        """PEP 621 extras: `[project.optional-dependencies]`."""
        return tuple(self._table("project", "optional-dependencies"))

    def uv_groups(self) -> tuple[str, ...]:
        # uv reads PEP 735 groups, plus the legacy `[tool.uv] dev-dependencies` as group `dev`.
        legacy = ("dev",) if "dev-dependencies" in self._table("tool", "uv") else ()
        return _unique((*self.dependency_groups(), *legacy))

    def poetry_groups(self) -> tuple[str, ...]:
        # `[tool.poetry.group.<name>]`, the legacy `[tool.poetry.dev-dependencies]` (group
        # `dev`), and PEP 735 groups, which Poetry reads since 2.2.
        poetry = self._table("tool", "poetry")
        legacy = ("dev",) if "dev-dependencies" in poetry else ()
        named = tuple(self._table("tool", "poetry", "group"))
        return _unique((*named, *legacy, *self.dependency_groups()))

    def pdm_groups(self) -> tuple[str, ...]:
        # PEP 735 groups, and PDM's legacy `[tool.pdm.dev-dependencies]`, one group per key.
        legacy = tuple(self._table("tool", "pdm", "dev-dependencies"))
        return _unique((*self.dependency_groups(), *legacy))

    def pdm_distribution(self) -> bool | None:
        """`[tool.pdm] distribution`: whether PDM installs the project itself; None if unset."""
        value = self._table("tool", "pdm").get("distribution")
        return value if isinstance(value, bool) else None

    @property
    def has_build_system(self) -> bool:
        return isinstance(self.data.get("build-system"), dict)

    def project_scripts(self) -> tuple[str, ...]:
        """The names of `[project.scripts]`; none when it is not a table (the build backend
        reports that, if anything installs the project)."""
        project = self.data.get("project")
        scripts = project.get("scripts") if isinstance(project, dict) else None
        return tuple(scripts) if isinstance(scripts, dict) else ()

    def poetry_extras(self) -> tuple[str, ...]:
        return _unique((*self.optional_dependencies(), *self._table("tool", "poetry", "extras")))

    def _table(self, *keys: str) -> Mapping[str, Any]:
        current: object = self.data
        for depth, key in enumerate(keys, start=1):
            if not isinstance(current, dict):
                return {}
            current = current.get(key, {})
            if not isinstance(current, dict):
                where = ".".join(keys[:depth])
                raise InvalidPyproject(self.path, f"[{where}] must be a table")
        return current if isinstance(current, dict) else {}


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(normalize_name(name), name)
    return tuple(seen.values())


def parse_pyproject(content: bytes, path: Path) -> Pyproject:
    try:
        return Pyproject(path, tomllib.loads(content.decode("utf-8")))
    except UnicodeDecodeError as error:
        raise InvalidPyproject(path, f"not valid UTF-8 ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidPyproject(path, str(error)) from None


def read_pyproject(app_dir: Path) -> Pyproject | None:
    """The app's pyproject.toml, or None when it has none."""
    path = app_dir / PYPROJECT
    try:
        content = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise InvalidPyproject(path, error.strerror or str(error)) from None
    return parse_pyproject(content, path)

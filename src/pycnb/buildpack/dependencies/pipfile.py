"""The Pipfile, read once per build: Pipenv's package categories (its `[requires]` Python is read
by the Python version sources, from the same value).

Like `project.py` for pyproject.toml: reading is separate from parsing (pure), and only the tables
pycnb relies on are checked for shape; the rest is Pipenv's business.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.buildpack.errors import DependencyError

__all__ = [
    "DEFAULT_CATEGORY",
    "DEV_CATEGORY",
    "PIPFILE",
    "PIPFILE_LOCK",
    "InvalidPipfile",
    "Pipfile",
    "parse_pipfile",
    "read_pipfile",
]

PIPFILE = "Pipfile"
PIPFILE_LOCK = "Pipfile.lock"

DEFAULT_CATEGORY = "packages"  # `default` in Pipfile.lock: always installed
DEV_CATEGORY = "dev-packages"  # `develop` in Pipfile.lock

# Tables of a Pipfile that hold settings, not packages (Pipenv's own list at the pinned version).
_NOT_CATEGORIES = frozenset({"source", "requires", "pipenv", "scripts", "build-system"})


@dataclass
class InvalidPipfile(DependencyError):
    path: Path
    reason: str  # tomllib's message (with line and column), or which table is malformed

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Pipfile:
    path: Path
    data: Mapping[str, Any]

    def categories(self) -> tuple[str, ...]:
        """The package categories beyond the default one, as spelled in the file: `dev-packages`
        and custom ones such as `docs`."""
        return tuple(
            name
            for name, value in self.data.items()
            if isinstance(value, dict) and name not in _NOT_CATEGORIES and name != DEFAULT_CATEGORY
        )


def parse_pipfile(content: bytes, path: Path) -> Pipfile:
    try:
        return Pipfile(path, tomllib.loads(content.decode("utf-8")))
    except UnicodeDecodeError as error:
        raise InvalidPipfile(path, f"not valid UTF-8 ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidPipfile(path, str(error)) from None


def read_pipfile(app_dir: Path) -> Pipfile | None:
    """The app's Pipfile, or None when it has none."""
    path = app_dir / PIPFILE
    try:
        content = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        raise InvalidPipfile(path, error.strerror or str(error)) from None
    return parse_pipfile(content, path)

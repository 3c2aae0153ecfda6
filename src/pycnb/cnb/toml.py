"""TOML reading and atomic writing for the files the CNB spec defines."""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ["InvalidToml", "read_toml", "write_toml"]


@dataclass
class InvalidToml(Exception):
    path: Path  # the file that failed to parse
    reason: str  # tomllib's message, which includes line and column

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file. Raises FileNotFoundError or InvalidToml."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise InvalidToml(path, str(error)) from None
    except UnicodeDecodeError as error:
        raise InvalidToml(path, f"not valid UTF-8: {error}") from None


def write_toml(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as TOML so that readers see either the old file or the whole new one."""
    write_atomically(path, tomli_w.dumps(data).encode())


def write_atomically(path: Path, content: bytes) -> None:
    # A temp file in the same directory, then rename: a build killed half-way never leaves a
    # truncated file that a later build would parse as valid.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise

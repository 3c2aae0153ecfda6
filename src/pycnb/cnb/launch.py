"""`launch.toml`: the processes (and labels) a buildpack contributes to the image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycnb.cnb.names import ProcessType
from pycnb.cnb.toml import write_toml

__all__ = ["Label", "Launch", "Process"]


@dataclass(frozen=True)
class Process:
    type: ProcessType
    # API >= 0.9: an argv list run without a shell; `args` are defaults the user may replace.
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    default: bool = False
    working_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.command:
            raise ValueError(f"process {self.type}: command must not be empty")

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"type": str(self.type), "command": list(self.command)}
        if self.args:
            table["args"] = list(self.args)
        if self.default:
            table["default"] = True
        if self.working_dir is not None:
            table["working-dir"] = self.working_dir
        return table


@dataclass(frozen=True)
class Label:
    key: str
    value: str


@dataclass(frozen=True)
class Launch:
    processes: tuple[Process, ...] = field(default=())
    labels: tuple[Label, ...] = field(default=())

    def __post_init__(self) -> None:
        types = [p.type for p in self.processes]
        if len(types) != len(set(types)):
            raise ValueError("process types must be unique within a buildpack")
        if sum(p.default for p in self.processes) > 1:
            raise ValueError("at most one process may be the default")

    def write(self, path: Path) -> None:
        data: dict[str, Any] = {}
        if self.labels:
            data["labels"] = [{"key": lb.key, "value": lb.value} for lb in self.labels]
        if self.processes:
            data["processes"] = [p.to_table() for p in self.processes]
        write_toml(path, data)

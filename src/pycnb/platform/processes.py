"""The image's processes: merging buildpacks' launch.toml processes, recording them in
`<layers>/config/metadata.toml`, and building a process's argv.

Merging copies the lifecycle's builder (rule 24): a later buildpack's process replaces an
earlier one of the same type; the default is the last `default = true`; redefining the default
type without `default = true` leaves the image with no default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.cnb.toml import InvalidToml, read_toml, write_toml
from pycnb.platform.errors import CorruptState

__all__ = [
    "LaunchMetadata",
    "Process",
    "ProcessSet",
    "process_argv",
    "read_launch_metadata",
    "write_launch_metadata",
]


@dataclass(frozen=True)
class Process:
    type: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    working_dir: str | None = None
    buildpack_id: str = ""
    default: bool = False  # as declared by its buildpack

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "type": self.type,
            "command": list(self.command),
            "args": list(self.args),
            # Buildpack API >= 0.9 processes always run without a shell.
            "direct": True,
            "buildpack-id": self.buildpack_id,
        }
        if self.working_dir is not None:
            table["working-dir"] = self.working_dir
        return table


class ProcessSet:
    def __init__(self) -> None:
        self._by_type: dict[str, Process] = {}
        self._default: str | None = None

    def add(self, processes: Sequence[Process], warn: Callable[[str], None]) -> None:
        """Add one buildpack's processes, in the order of its launch.toml."""
        for process in processes:
            if process.type == self._default and not process.default:
                warn(
                    f"Warning: buildpack {process.buildpack_id} redefines the default process "
                    f"type {process.type!r} without default = true; the image has no default"
                )
                self._default = None
            self._by_type[process.type] = process
            if process.default:
                self._default = process.type

    @property
    def processes(self) -> tuple[Process, ...]:
        return tuple(self._by_type[t] for t in sorted(self._by_type))  # sorted, as [L] exports

    @property
    def default_type(self) -> str | None:
        return self._default


@dataclass(frozen=True)
class LaunchMetadata:
    buildpacks: tuple[tuple[str, str, str], ...]  # (id, version, api), in group order
    processes: Mapping[str, Process]
    default_type: str | None


def write_launch_metadata(
    path: Path,
    *,
    buildpacks: Sequence[tuple[str, str, str]],
    processes: ProcessSet,
    labels: Sequence[tuple[str, str]],
    slices: Sequence[tuple[str, ...]],
) -> None:
    data: dict[str, Any] = {}
    if processes.default_type is not None:
        data["buildpack-default-process-type"] = processes.default_type
    data["buildpacks"] = [{"id": i, "version": v, "api": a} for i, v, a in buildpacks]
    data["processes"] = [p.to_table() for p in processes.processes]
    data["labels"] = [{"key": k, "value": v} for k, v in labels]
    data["slices"] = [{"paths": list(paths)} for paths in slices]
    write_toml(path, data)


def read_launch_metadata(path: Path) -> LaunchMetadata:
    try:
        data = read_toml(path)
        buildpacks = tuple((bp["id"], bp["version"], bp["api"]) for bp in data["buildpacks"])
        processes = {
            p["type"]: Process(
                type=p["type"],
                command=tuple(p["command"]),
                args=tuple(p.get("args", [])),
                working_dir=p.get("working-dir"),
                buildpack_id=p.get("buildpack-id", ""),
            )
            for p in data["processes"]
        }
        default = data.get("buildpack-default-process-type")
    except (InvalidToml, OSError, KeyError, TypeError) as error:
        raise CorruptState(path, str(error)) from None
    return LaunchMetadata(buildpacks, processes, default if isinstance(default, str) else None)


def process_argv(process: Process, user_args: Sequence[str]) -> tuple[str, ...]:
    """argv of a buildpack process (API >= 0.9, section 6.3): the command, then the user's
    arguments if any were given, else the default `args`. No shell, no `$VAR` expansion."""
    return (*process.command, *(user_args or process.args))

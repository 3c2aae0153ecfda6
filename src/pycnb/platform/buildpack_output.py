"""The files a buildpack writes beside its layers: `launch.toml`, `build.toml`, `store.toml`.

Parsing follows the lifecycle's decoding (`buildpack/files.go`): a value of the wrong type is an
error, unknown keys are ignored, and for Buildpack API >= 0.9 `command` is an array and the
`direct` key is rejected (rule 25). Two checks go beyond the lifecycle, because the spec says
MUST and a violation can only fail later: process types unique within one launch.toml, and a
non-empty `command`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.cnb.names import ProcessType
from pycnb.cnb.toml import InvalidToml, read_toml
from pycnb.platform.errors import ContentError, InvalidBuildpackOutput
from pycnb.platform.processes import Process

__all__ = [
    "LaunchOutput",
    "parse_build_toml",
    "parse_launch_toml",
    "parse_store_toml",
    "read_output_file",
]


@dataclass(frozen=True)
class LaunchOutput:
    processes: tuple[Process, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    slices: tuple[tuple[str, ...], ...] = ()


def read_output_file(path: Path, buildpack_id: str) -> dict[str, Any] | None:
    """Parse one of the buildpack's TOML files; None if it did not write it."""
    try:
        return read_toml(path)
    except FileNotFoundError:
        return None
    except InvalidToml as error:
        raise InvalidBuildpackOutput(buildpack_id, path, error.reason) from None
    except OSError as error:
        raise InvalidBuildpackOutput(buildpack_id, path, str(error)) from None


def _tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        raise ContentError(f"{key} must be an array of tables ([[{key}]])")
    return value


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContentError(f"{what} must be an array of strings")
    return tuple(value)


def parse_launch_toml(data: Mapping[str, Any], buildpack_id: str) -> LaunchOutput:
    """Raises ContentError saying what is wrong."""
    processes: list[Process] = []
    for number, table in enumerate(_tables(data, "processes"), 1):
        process = _process(table, f"processes #{number}", buildpack_id)
        if any(p.type == process.type for p in processes):
            raise ContentError(f"process type {process.type!r} is defined twice")
        processes.append(process)
    if len(defaults := [p.type for p in processes if p.default]) > 1:
        raise ContentError(f"multiple default process types aren't allowed ({', '.join(defaults)})")
    labels = []
    for table in _tables(data, "labels"):
        key, value = table.get("key"), table.get("value")
        if not isinstance(key, str) or not isinstance(value, str):
            raise ContentError("every [[labels]] needs a string key and a string value")
        labels.append((key, value))
    slices = tuple(_strings(t.get("paths", []), "slices.paths") for t in _tables(data, "slices"))
    return LaunchOutput(tuple(processes), tuple(labels), slices)


def _process(table: Mapping[str, Any], where: str, buildpack_id: str) -> Process:
    process_type = table.get("type")
    if not isinstance(process_type, str):
        raise ContentError(f"{where}: type must be a string")
    try:
        ProcessType(process_type)
    except ValueError:
        raise ContentError(
            f"{where}: type {process_type!r} may hold only letters, digits, '.', '_', '-'"
        ) from None
    where = f"process {process_type!r}"
    if "direct" in table:
        raise ContentError(
            f"{where}: process.direct is not supported on this buildpack version (API >= 0.9 "
            "processes always run without a shell)"
        )
    command = table.get("command")
    if isinstance(command, str):
        raise ContentError(
            f"{where}: command must be an array since API 0.9, e.g. command = [{command!r}]"
        )
    command = _strings(command, f"{where}: command")
    if not command:
        raise ContentError(f"{where}: command must not be empty")
    args = _strings(table.get("args", []), f"{where}: args")
    default = table.get("default", False)
    if not isinstance(default, bool):
        raise ContentError(f"{where}: default must be a boolean")
    working_dir = table.get("working-dir")
    if working_dir is not None and not isinstance(working_dir, str):
        raise ContentError(f"{where}: working-dir must be a string")
    return Process(process_type, command, args, working_dir or None, buildpack_id, default)


def parse_build_toml(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The names under [[unmet]]. Raises ContentError."""
    names = []
    for table in _tables(data, "unmet"):
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise ContentError("every [[unmet]] needs a non-empty string name")
        names.append(name)
    return tuple(names)


def parse_store_toml(data: Mapping[str, Any]) -> dict[str, Any]:
    """store.toml's [metadata] table, the only part the lifecycle keeps. Raises ContentError."""
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise ContentError("metadata must be a table")
    return dict(metadata)

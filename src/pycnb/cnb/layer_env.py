"""Layer environment: the env files a layer carries, as data with a pure `apply`.

The same type serves both sides of the contract: the buildpack builds a `LayerEnv` and writes it
into a layer, and the platform reads layers back with `LayerEnv.read_from` and applies them. The
rules follow the CNB lifecycle (buildpack API >= 0.5):

- a file `NAME.<suffix>` in `env/`, `env.build/`, `env.launch/` or `env.launch/<type>/` modifies
  `NAME`; a file with no suffix means override; unknown suffixes are ignored;
- `.prepend`/`.append` join with the contents of `NAME.delim` *in the same directory*, or with
  nothing when there is no such file, and they add no delimiter when the current value is empty;
- `.default` sets the variable only when it is unset or empty (the lifecycle treats both alike);
- within one directory, files apply in ascending byte order of their names.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TypeAlias

from pycnb.cnb.names import ProcessType

__all__ = [
    "Behavior",
    "LayerEnv",
    "Modification",
    "Phase",
    "ProcessScope",
    "Scope",
    "layer_path_env",
]


class Scope(Enum):
    """The env directory a modification lives in; the value is the directory name."""

    ALL = "env"
    BUILD = "env.build"
    LAUNCH = "env.launch"


@dataclass(frozen=True, order=True)
class ProcessScope:
    """`env.launch/<type>/`: applies at launch, only to that process type."""

    process_type: ProcessType

    @property
    def value(self) -> str:
        return f"{Scope.LAUNCH.value}/{self.process_type}"


AnyScope: TypeAlias = Scope | ProcessScope


class Behavior(Enum):
    OVERRIDE = "override"
    DEFAULT = "default"
    PREPEND = "prepend"
    APPEND = "append"


class Phase(Enum):
    """When an environment is applied: for later buildpacks during build, or at launch."""

    BUILD = "build"
    LAUNCH = "launch"


@dataclass(frozen=True)
class Modification:
    name: str
    behavior: Behavior
    value: str
    # Only meaningful for PREPEND/APPEND: the contents of `NAME.delim`.
    delimiter: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.name}.{self.behavior.value}"

    def apply_to(self, env: dict[str, str]) -> None:
        current = env.get(self.name, "")
        match self.behavior:
            case Behavior.OVERRIDE:
                env[self.name] = self.value
            case Behavior.DEFAULT:
                if not current:
                    env[self.name] = self.value
            case Behavior.PREPEND:
                env[self.name] = self.value + (self.delimiter + current if current else "")
            case Behavior.APPEND:
                env[self.name] = (current + self.delimiter if current else "") + self.value


# Subdirectories of a layer that the platform puts on path-like variables by itself (the spec's
# "layer paths"). LIBRARY_PATH, CPATH and PKG_CONFIG_PATH only matter to compilers, so only builds.
_LAYER_PATHS: dict[str, tuple[tuple[str, Scope], ...]] = {
    "bin": (("PATH", Scope.ALL),),
    "lib": (("LD_LIBRARY_PATH", Scope.ALL), ("LIBRARY_PATH", Scope.BUILD)),
    "include": (("CPATH", Scope.BUILD),),
    "pkgconfig": (("PKG_CONFIG_PATH", Scope.BUILD),),
}


@dataclass(frozen=True)
class LayerEnv:
    """An immutable list of modifications, each tagged with the scope it belongs to."""

    entries: tuple[tuple[AnyScope, Modification], ...] = field(default=())

    def add(
        self,
        scope: AnyScope,
        behavior: Behavior,
        name: str,
        value: str,
        delimiter: str = "",
    ) -> LayerEnv:
        """Return a new env with one more modification. Chainable."""
        if not name or "." in name or "/" in name or "=" in name:
            raise ValueError(f"invalid environment variable name: {name!r}")
        if behavior in (Behavior.OVERRIDE, Behavior.DEFAULT) and delimiter:
            raise ValueError(f"a delimiter only applies to prepend/append, not {behavior.value}")
        new = Modification(name, behavior, value, delimiter)
        for other_scope, other in self.entries:
            if other_scope != scope or other.name != name:
                continue
            if other.behavior == behavior:
                raise ValueError(f"{scope.value}/{new.file_name} is already set")
            # Both share the one NAME.delim file of their directory.
            if {other.behavior, behavior} == {Behavior.PREPEND, Behavior.APPEND} and (
                other.delimiter != delimiter
            ):
                raise ValueError(f"{scope.value}/{name}: prepend and append need one delimiter")
        return LayerEnv((*self.entries, (scope, new)))

    def __add__(self, other: LayerEnv) -> LayerEnv:
        return LayerEnv(self.entries + other.entries)

    def modifications(
        self, phase: Phase, process_type: ProcessType | None = None
    ) -> Iterator[Modification]:
        """The modifications that apply in `phase`, in the lifecycle's order of application."""
        scopes: list[AnyScope] = [Scope.ALL]
        if phase is Phase.BUILD:
            scopes.append(Scope.BUILD)
        else:
            scopes.append(Scope.LAUNCH)
            if process_type is not None:
                scopes.append(ProcessScope(process_type))
        for scope in scopes:
            in_scope = [mod for entry_scope, mod in self.entries if entry_scope == scope]
            # The lifecycle applies one directory's files in name order, so insertion order must
            # not matter: `PATH.override` then `PATH.prepend`, whatever order they were added in.
            yield from sorted(in_scope, key=lambda mod: mod.file_name.encode())

    def apply(
        self,
        phase: Phase,
        env: Mapping[str, str],
        process_type: ProcessType | None = None,
    ) -> dict[str, str]:
        """Return a copy of `env` with this layer's modifications for `phase` applied."""
        result = dict(env)
        for modification in self.modifications(phase, process_type):
            modification.apply_to(result)
        return result

    def write_to(self, layer_dir: Path) -> None:
        """Replace the layer's env directories with files for exactly these modifications.

        Files that already say exactly this are left alone: a restored layer then stays the
        very tree the cache holds, which a platform can carry over without relinking it.
        """
        wanted: dict[str, str] = {}
        for scope, modification in self.entries:
            wanted[f"{scope.value}/{modification.file_name}"] = modification.value
            if modification.behavior in (Behavior.PREPEND, Behavior.APPEND):
                # Always write the delimiter: without NAME.delim the lifecycle glues values
                # together with nothing in between.
                wanted[f"{scope.value}/{modification.name}.delim"] = modification.delimiter
        if _env_files(layer_dir) == wanted:
            return
        for env_dir in Scope:
            shutil.rmtree(layer_dir / env_dir.value, ignore_errors=True)
        for relative, value in wanted.items():
            path = layer_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(value)

    @classmethod
    def read_from(cls, layer_dir: Path) -> LayerEnv:
        """Read every env directory of a layer, as the lifecycle would interpret it."""
        entries: list[tuple[AnyScope, Modification]] = []
        scopes: list[AnyScope] = [*Scope]
        launch_dir = layer_dir / Scope.LAUNCH.value
        if launch_dir.is_dir():
            scopes.extend(
                ProcessScope(ProcessType(child.name))
                for child in sorted(launch_dir.iterdir())
                if child.is_dir()
            )
        for scope in scopes:
            entries.extend((scope, mod) for mod in read_env_dir(layer_dir / scope.value))
        return cls(tuple(entries))


def _env_files(layer_dir: Path) -> dict[str, str] | None:
    """Every file under the layer's env directories, by relative path; None if unreadable or if
    anything but regular files and directories is there."""
    found: dict[str, str] = {}
    for env_dir in Scope:
        root = layer_dir / env_dir.value
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                return None
            if path.is_file():
                try:
                    found[path.relative_to(layer_dir).as_posix()] = path.read_text()
                except (OSError, UnicodeDecodeError):
                    return None
    return found


def read_env_dir(directory: Path) -> list[Modification]:
    """Read one env directory with the buildpack (API >= 0.5) suffix rules, in name order."""
    if not directory.is_dir():
        return []
    modifications = []
    for path in sorted(directory.iterdir(), key=lambda p: os.fsencode(p.name)):
        if path.is_dir():
            continue
        name, _, suffix = path.name.partition(".")
        behavior = _SUFFIXES.get(suffix)
        if behavior is None:
            continue  # `.delim` is read below; any other suffix is ignored by the lifecycle
        delimiter = ""
        if behavior in (Behavior.PREPEND, Behavior.APPEND):
            delim_file = directory / f"{name}.delim"
            delimiter = _read_value(delim_file) if delim_file.is_file() else ""
        modifications.append(Modification(name, behavior, _read_value(path), delimiter))
    return modifications


_SUFFIXES = {
    "": Behavior.OVERRIDE,
    "override": Behavior.OVERRIDE,
    "default": Behavior.DEFAULT,
    "prepend": Behavior.PREPEND,
    "append": Behavior.APPEND,
}


def _read_value(path: Path) -> str:
    # Values are used byte for byte: no trimming, so a trailing newline is part of the value.
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def layer_path_env(layer_dir: Path) -> LayerEnv:
    """The implicit modifications for a layer's `bin/`, `lib/`, `include/` and `pkgconfig/`."""
    env = LayerEnv()
    for subdir, variables in _LAYER_PATHS.items():
        if (layer_dir / subdir).is_dir():
            for name, scope in variables:
                env = env.add(scope, Behavior.PREPEND, name, str(layer_dir / subdir), os.pathsep)
    return env

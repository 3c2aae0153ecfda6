"""What a buildpack is given for detect and build: paths, the target, the env, the plan.

Inputs arrive both as positional args (deprecated since API 0.8 but still passed by the
lifecycle) and as `CNB_*` env vars. The env vars win; the args are the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.cnb.layers import (
    C,
    CachedLayer,
    LayerRef,
    M,
    open_cached_layer,
    open_uncached_layer,
)
from pycnb.cnb.names import LayerName
from pycnb.cnb.toml import read_toml, write_toml

__all__ = [
    "BuildContext",
    "ContextError",
    "DetectContext",
    "PlanEntry",
    "Target",
    "read_platform_env",
]

DETECT_PASS = 0
DETECT_FAIL = 100
# Any other code is an error. 1 is what shells and Python use for "failed".
DETECT_ERROR = 1
BUILD_ERROR = 1


@dataclass
class ContextError(Exception):
    reason: str  # which input is missing or unreadable

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Target:
    os: str
    arch: str
    arch_variant: str | None
    distro_name: str | None
    distro_version: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Target:
        try:
            target_os, arch = env["CNB_TARGET_OS"], env["CNB_TARGET_ARCH"]
        except KeyError as error:
            raise ContextError(f"the platform did not set {error.args[0]}") from None
        return cls(
            os=target_os,
            arch=arch,
            arch_variant=env.get("CNB_TARGET_ARCH_VARIANT") or None,
            distro_name=env.get("CNB_TARGET_DISTRO_NAME") or None,
            distro_version=env.get("CNB_TARGET_DISTRO_VERSION") or None,
        )


@dataclass(frozen=True)
class PlanEntry:
    name: str
    metadata: Mapping[str, Any]


def read_platform_env(platform_dir: Path) -> dict[str, str]:
    """The user-provided vars in `<platform>/env/`: file name = var name, contents verbatim."""
    env_dir = platform_dir / "env"
    if not env_dir.is_dir():
        return {}
    return {
        path.name: path.read_bytes().decode("utf-8", errors="surrogateescape")
        for path in sorted(env_dir.iterdir())
        if path.is_file()
    }


def _path_input(env: Mapping[str, str], name: str, args: Sequence[str], index: int) -> Path:
    value = env.get(name) or (args[index] if len(args) > index else "")
    if not value:
        raise ContextError(f"neither {name} nor positional argument {index + 1} was given")
    return Path(value).absolute()


@dataclass(frozen=True)
class DetectContext:
    app_dir: Path
    buildpack_dir: Path
    platform_dir: Path
    build_plan_path: Path
    target: Target
    env: Mapping[str, str]

    @classmethod
    def from_process(cls, args: Sequence[str], env: Mapping[str, str]) -> DetectContext:
        # detect's positional args: <platform> <plan>
        return cls(
            app_dir=Path.cwd(),
            buildpack_dir=_path_input(env, "CNB_BUILDPACK_DIR", (), 0),
            platform_dir=_path_input(env, "CNB_PLATFORM_DIR", args, 0),
            build_plan_path=_path_input(env, "CNB_BUILD_PLAN_PATH", args, 1),
            target=Target.from_env(env),
            env=dict(env),
        )

    def write_plan(self, *, provides: Sequence[str], requires: Sequence[PlanEntry]) -> None:
        write_toml(
            self.build_plan_path,
            {
                "provides": [{"name": name} for name in provides],
                "requires": [_plan_entry_table(entry) for entry in requires],
            },
        )


def _plan_entry_table(entry: PlanEntry) -> dict[str, Any]:
    if entry.metadata:
        return {"name": entry.name, "metadata": dict(entry.metadata)}
    return {"name": entry.name}


@dataclass(frozen=True)
class BuildContext:
    app_dir: Path
    buildpack_dir: Path
    platform_dir: Path
    layers_dir: Path
    plan: tuple[PlanEntry, ...]
    target: Target
    env: Mapping[str, str]

    @classmethod
    def from_process(cls, args: Sequence[str], env: Mapping[str, str]) -> BuildContext:
        # build's positional args: <layers>/<bp> <platform> <plan>
        plan_path = _path_input(env, "CNB_BP_PLAN_PATH", args, 2)
        try:
            plan_data = read_toml(plan_path)
        except FileNotFoundError:
            plan_data = {}
        plan = tuple(
            PlanEntry(entry["name"], entry.get("metadata", {}))
            for entry in plan_data.get("entries", [])
        )
        return cls(
            app_dir=Path.cwd(),
            buildpack_dir=_path_input(env, "CNB_BUILDPACK_DIR", (), 0),
            platform_dir=_path_input(env, "CNB_PLATFORM_DIR", args, 1),
            layers_dir=_path_input(env, "CNB_LAYERS_DIR", args, 0),
            plan=plan,
            target=Target.from_env(env),
            env=dict(env),
        )

    def cached_layer(self, name: LayerName, definition: CachedLayer[M, C]) -> LayerRef[M, C]:
        return open_cached_layer(self.layers_dir, name, definition)

    def uncached_layer(self, name: LayerName, *, build: bool, launch: bool) -> LayerRef[Any, None]:
        return open_uncached_layer(self.layers_dir, name, build=build, launch=launch)

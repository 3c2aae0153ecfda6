"""Targets: the OS/arch/distro the app builds and runs on, and whether a buildpack supports it.

Without a container, the build and run base is the host itself. Matching
copies the lifecycle (`platform/target_data.go` `TargetSatisfiedForBuild`): an empty value on
either side is a wildcard, and a buildpack that lists distros does not match a base whose distro
is unknown.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Distro",
    "TargetInfo",
    "TargetSpec",
    "host_target",
    "parse_os_release",
    "target_matches",
]

# platform.machine() names to the OCI/Go names CNB targets use.
_ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Distro:
    name: str
    version: str


@dataclass(frozen=True)
class TargetInfo:
    """The base image's target; here, the host's."""

    os: str
    arch: str
    arch_variant: str = ""
    distro: Distro | None = None

    def env(self) -> dict[str, str]:
        """The `CNB_TARGET_*` vars: OS and arch always, the rest when known (rule 6)."""
        env = {"CNB_TARGET_OS": self.os, "CNB_TARGET_ARCH": self.arch}
        if self.arch_variant:
            env["CNB_TARGET_ARCH_VARIANT"] = self.arch_variant
        if self.distro is not None:
            if self.distro.name:
                env["CNB_TARGET_DISTRO_NAME"] = self.distro.name
            if self.distro.version:
                env["CNB_TARGET_DISTRO_VERSION"] = self.distro.version
        return env

    def describe(self) -> str:
        parts = [self.os, self.arch + (f"/{self.arch_variant}" if self.arch_variant else "")]
        if self.distro is not None:
            parts.append(f"{self.distro.name} {self.distro.version}".strip())
        return ", ".join(parts)


@dataclass(frozen=True)
class TargetSpec:
    """One `[[targets]]` entry of a buildpack.toml (or one inferred from it)."""

    os: str = ""
    arch: str = ""
    arch_variant: str = ""
    distros: tuple[Distro, ...] = ()

    def describe(self) -> str:
        fields = [f"os={self.os or '*'}", f"arch={self.arch or '*'}"]
        if self.arch_variant:
            fields.append(f"variant={self.arch_variant}")
        if self.distros:
            fields.append("distros=" + "|".join(f"{d.name} {d.version}" for d in self.distros))
        return " ".join(fields)


def _wildcard_equal(base: str, wanted: str) -> bool:
    return not base or not wanted or base == wanted


def target_matches(base: TargetInfo, spec: TargetSpec) -> bool:
    if not (
        _wildcard_equal(base.os, spec.os)
        and _wildcard_equal(base.arch, spec.arch)
        and _wildcard_equal(base.arch_variant, spec.arch_variant)
    ):
        return False
    if not spec.distros:
        return True
    if base.distro is None:
        return False
    return any(
        _wildcard_equal(base.distro.name, d.name)
        and _wildcard_equal(base.distro.version, d.version)
        for d in spec.distros
    )


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5): KEY=value lines, values optionally quoted."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":  # noqa: PLR2004
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        values[key.strip()] = value
    return values


def host_target(
    machine: str | None = None, os_release: Path = Path("/etc/os-release")
) -> TargetInfo:
    machine = platform.machine() if machine is None else machine
    arch = _ARCH_NAMES.get(machine.lower(), machine.lower())
    try:
        release = parse_os_release(os_release.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        release = {}
    name, version = release.get("ID", ""), release.get("VERSION_ID", "")
    distro = Distro(name, version) if name or version else None
    return TargetInfo(os="linux", arch=arch, distro=distro)

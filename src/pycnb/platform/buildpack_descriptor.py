"""`buildpack.toml`: reading and validating a component buildpack's descriptor.

The platform refuses what it cannot run faithfully (rule 1): a Buildpack API it does not
implement, or a composite buildpack. It implements API 0.10, and also accepts 0.11, whose
contract for buildpacks is the same (the lifecycle has no code path that
differs for 0.11). It refuses 0.9 and older (CNB_STACK_ID instead of CNB_TARGET_*, other detect
semantics) and 0.12+ (CNB_EXEC_ENV, exec-env filters), rather than half-emulate them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.cnb.names import BuildpackId
from pycnb.cnb.toml import InvalidToml, read_toml
from pycnb.platform.errors import (
    BuildpackNotFound,
    CompositeBuildpackUnsupported,
    InvalidDescriptor,
    UnsupportedBuildpackApi,
)
from pycnb.platform.target import Distro, TargetSpec

__all__ = [
    "SBOM_MEDIA_TYPES",
    "SUPPORTED_APIS",
    "BuildpackDescriptor",
    "load_descriptor",
    "parse_descriptor",
]

SUPPORTED_APIS = ("0.10", "0.11")
# Media type -> file extension, the only SBOM formats the spec allows (section 7).
SBOM_MEDIA_TYPES = {
    "application/vnd.cyclonedx+json": "cdx.json",
    "application/spdx+json": "spdx.json",
    "application/vnd.syft+json": "syft.json",
}
_API = re.compile(r"(\d+)(?:\.(\d+))?")
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
# The lifecycle's translation of the one well-known stack id (bp_descriptor.go).
_BIONIC = TargetSpec(os="linux", arch="amd64", distros=(Distro("ubuntu", "18.04"),))


@dataclass(frozen=True)
class BuildpackDescriptor:
    root: Path  # absolute
    api: str  # normalized "<major>.<minor>"
    id: str
    version: str
    name: str
    homepage: str
    clear_env: bool
    sbom_formats: frozenset[str]  # media types, parameters stripped
    targets: tuple[TargetSpec, ...]  # declared, or inferred when none are declared

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def directory_name(self) -> str:
        """The buildpack's directory under `<layers>`: the id with `/` replaced by `_`."""
        return BuildpackId(self.id).directory_name

    @property
    def detect_program(self) -> Path:
        return self.root / "bin" / "detect"

    @property
    def build_program(self) -> Path:
        return self.root / "bin" / "build"


def load_descriptor(buildpack_dir: Path) -> BuildpackDescriptor:
    root = buildpack_dir.absolute()
    path = root / "buildpack.toml"
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise BuildpackNotFound(root) from None
    except InvalidToml as error:
        raise InvalidDescriptor(path, (error.reason,)) from None
    except OSError as error:
        raise InvalidDescriptor(path, (error.strerror or str(error),)) from None
    bin_dir = root / "bin"
    bin_names = frozenset(p.name for p in bin_dir.iterdir()) if bin_dir.is_dir() else frozenset()
    return parse_descriptor(data, root=root, bin_names=bin_names)


def parse_descriptor(
    data: Mapping[str, Any], *, root: Path, bin_names: frozenset[str]
) -> BuildpackDescriptor:
    """Validate a parsed buildpack.toml; every problem is reported at once."""
    path = root / "buildpack.toml"
    problems: list[str] = []
    api = _parse_api(data.get("api"), problems)
    info = data.get("buildpack")
    if not isinstance(info, Mapping):
        problems.append("a [buildpack] table is required")
        info = {}
    bp_id = _string(info, "id", problems, required=True)
    if bp_id:
        try:
            BuildpackId(bp_id)
        except ValueError:
            problems.append(
                f"[buildpack] id {bp_id!r} may hold only letters, digits, '.', '/' and '-', "
                "and must not be app, config, generated or sbom"
            )
    version = _string(info, "version", problems, required=True)
    if version and not _SEMVER.fullmatch(version):
        problems.append(f"[buildpack] version {version!r} must be X.Y.Z (no leading zeros)")
    name = _string(info, "name", problems)
    homepage = _string(info, "homepage", problems)
    clear_env = info.get("clear-env", False)
    if not isinstance(clear_env, bool):
        problems.append("[buildpack] clear-env must be a boolean")
        clear_env = False
    sbom_formats = _sbom_formats(info.get("sbom-formats", []), problems)
    targets = _targets(data.get("targets", []), problems)
    stacks = _stack_ids(data.get("stacks", []), problems)
    if problems:
        raise InvalidDescriptor(path, tuple(problems))
    if "order" in data:
        raise CompositeBuildpackUnsupported(root, bp_id)
    if api not in SUPPORTED_APIS:
        raise UnsupportedBuildpackApi(root, bp_id, api, SUPPORTED_APIS)
    return BuildpackDescriptor(
        root=root,
        api=api,
        id=bp_id,
        version=version,
        name=name,
        homepage=homepage,
        clear_env=clear_env,
        sbom_formats=sbom_formats,
        targets=targets or _inferred_targets(stacks, bin_names),
    )


def _parse_api(value: object, problems: list[str]) -> str:
    if not isinstance(value, str) or not (match := _API.fullmatch(value)):
        problems.append(f'api must be a string like "0.10", not {value!r}')
        return ""
    major, minor = int(match[1]), int(match[2] or 0)
    return f"{major}.{minor}"


def _string(
    table: Mapping[str, Any], key: str, problems: list[str], *, required: bool = False
) -> str:
    value = table.get(key)
    if value is None:
        if required:
            problems.append(f"[buildpack] {key} is required")
        return ""
    if not isinstance(value, str) or (required and not value):
        problems.append(f"[buildpack] {key} must be a non-empty string")
        return ""
    return value


def _sbom_formats(value: object, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append("[buildpack] sbom-formats must be a list of media types")
        return frozenset()
    formats = set()
    for media_type in value:
        base = media_type.split(";", 1)[0].strip().lower()  # parameters do not matter [L]
        if base not in SBOM_MEDIA_TYPES:
            known = ", ".join(SBOM_MEDIA_TYPES)
            problems.append(
                f"[buildpack] sbom-formats: unknown media type {media_type!r} ({known})"
            )
        formats.add(base)
    return frozenset(formats)


def _targets(value: object, problems: list[str]) -> tuple[TargetSpec, ...]:
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        problems.append("[[targets]] must be an array of tables")
        return ()
    targets = []
    for number, table in enumerate(value, 1):
        fields = {}
        for key in ("os", "arch", "arch-variant", "variant"):
            field = table.get(key, "")
            if not isinstance(field, str):
                problems.append(f"[[targets]] #{number}: {key} must be a string")
                field = ""
            fields[key] = field
        distros = []
        raw_distros = table.get("distros", [])
        if not isinstance(raw_distros, list) or not all(
            isinstance(d, Mapping) for d in raw_distros
        ):
            problems.append(f"[[targets]] #{number}: distros must be an array of tables")
            raw_distros = []
        for distro in raw_distros:
            name, version = distro.get("name", ""), distro.get("version", "")
            if not isinstance(name, str) or not isinstance(version, str):
                problems.append(f"[[targets]] #{number}: distro name and version must be strings")
                continue
            distros.append(Distro(name, version))
        targets.append(
            TargetSpec(
                os=fields["os"],
                arch=fields["arch"],
                # The lifecycle reads `arch-variant`; the spec (and libcnb.rs) say `variant` (D1).
                # Honour either, so the buildpack's declaration is never silently ignored.
                arch_variant=fields["arch-variant"] or fields["variant"],
                distros=tuple(distros),
            )
        )
    return tuple(targets)


def _stack_ids(value: object, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(s, Mapping) and isinstance(s.get("id"), str) for s in value
    ):
        problems.append("[[stacks]] must be an array of tables, each with a string id")
        return ()
    return tuple(s["id"] for s in value)


def _inferred_targets(stacks: tuple[str, ...], bin_names: frozenset[str]) -> tuple[TargetSpec, ...]:
    # [L buildpack/bp_descriptor.go]: deprecated stacks first, then the OS of bin/build.
    inferred = []
    for stack in stacks:
        if stack == "io.buildpacks.stacks.bionic":
            inferred.append(_BIONIC)
        elif stack == "*":
            inferred.append(TargetSpec())
    if inferred:
        return tuple(inferred)
    if bin_names & {"build.exe", "build.bat"}:
        inferred.append(TargetSpec(os="windows"))
    if "build" in bin_names:
        inferred.append(TargetSpec(os="linux"))
    return tuple(inferred)

"""Errors of the local platform: each carries the facts, and its `message` says what is wrong,
where, and how to fix it.

All messages live in this module, so the wording stays consistent and every error a user can
cause reads as prose rather than a traceback. `exit_code` mirrors the lifecycle's exit codes
(`platform/exit.go`: 20/21 detect, 51 build, 62 export, 82 launch) so the CLI can behave like
`pack`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = [
    "AppModifiedByDetect",
    "AppNotCopied",
    "AppNotFound",
    "AppSpecialFiles",
    "BuildpackFailed",
    "BuildpackNotFound",
    "BuildpackNotRunnable",
    "CannotReuseLayer",
    "CommandNotFound",
    "CompositeBuildpackUnsupported",
    "ContentError",
    "CorruptState",
    "DetectionErrored",
    "DetectionFailed",
    "EmptyOrder",
    "ExecDFailed",
    "GroupReport",
    "ImageDamaged",
    "InvalidBuildpackOutput",
    "InvalidDescriptor",
    "InvalidEnvVar",
    "InvalidExecDOutput",
    "InvalidLaunchRequest",
    "InvalidLayerMetadata",
    "InvalidSbom",
    "InvalidUserEnv",
    "LayerWithoutContents",
    "MemberReport",
    "NoDefaultProcess",
    "NoImage",
    "OverlappingDirs",
    "PlatformError",
    "ReservedLayerName",
    "RootBusy",
    "RootUnusable",
    "UnknownProcessType",
    "UnmetNotInPlan",
    "UnreadableFile",
    "UnsupportedBuildpackApi",
]

_SPEC = "https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md"
_UNCHANGED = "Nothing from this build was exported or cached; the previous image is unchanged."


class PlatformError(Exception):
    """Base of every error the local platform raises on purpose."""

    exit_code: ClassVar[int] = 1

    @property
    def message(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.message


class ContentError(ValueError):
    """Raised by the pure parsers when a file's content is wrong; the caller, which knows the
    file, wraps it into a PlatformError."""


def _listing(items: Sequence[str], limit: int = 10) -> str:
    shown = [f"  - {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"  - ... and {len(items) - limit} more")
    return "\n".join(shown)


# --- inputs -------------------------------------------------------------------------------------


@dataclass(eq=False)
class AppNotFound(PlatformError):
    path: Path

    @property
    def message(self) -> str:
        return f"the app directory {self.path} does not exist or is not a directory"


@dataclass(eq=False)
class AppSpecialFiles(PlatformError):
    app: Path
    found: tuple[tuple[Path, str], ...]  # each path with its kind ("named pipe (FIFO)", ...)

    @property
    def message(self) -> str:
        listed = _listing([f"{path} ({kind})" for path, kind in self.found])
        return (
            f"the app directory {self.app} holds files that are not regular files, "
            f"directories or symlinks, which an image cannot hold:\n{listed}\n"
            "Remove them from the app directory (a socket or pipe a running program left "
            "there is usually safe to delete once it has stopped)."
        )


@dataclass(eq=False)
class AppNotCopied(PlatformError):
    path: Path
    reason: str

    @property
    def message(self) -> str:
        return (
            f"cannot copy the app into the workspace: {self.path}: {self.reason}. Make the app "
            f"directory readable by this user, or free space where the root lives. {_UNCHANGED}"
        )


@dataclass(eq=False)
class OverlappingDirs(PlatformError):
    app: Path
    root: Path

    @property
    def message(self) -> str:
        return (
            f"the platform root {self.root} and the app {self.app} overlap: the platform copies "
            "the app into its root for every build. Choose a root outside the app (--root)."
        )


@dataclass(eq=False)
class EmptyOrder(PlatformError):
    @property
    def message(self) -> str:
        return "no buildpacks to run: the order has no group with a buildpack in it"


@dataclass(eq=False)
class InvalidUserEnv(PlatformError):
    name: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"user env var {self.name!r}: {self.reason}. Each var becomes one file in "
            "<platform>/env/ named after it."
        )


@dataclass(eq=False)
class RootUnusable(PlatformError):
    root: Path
    reason: str

    @property
    def message(self) -> str:
        return (
            f"cannot use {self.root} as the platform root: {self.reason}. Give --root a "
            "directory this user can write to (or a path where one can be made)."
        )


@dataclass(eq=False)
class RootBusy(PlatformError):
    root: Path

    @property
    def message(self) -> str:
        return (
            f"another pycnb process is using {self.root} (a build, or a launch being prepared). "
            "Wait for it to finish, or use another --root."
        )


@dataclass(eq=False)
class CorruptState(PlatformError):
    path: Path
    reason: str

    @property
    def message(self) -> str:
        return (
            f"{self.path} is unreadable ({self.reason}). It is platform state, not your app: "
            "build with --clear-cache, or delete that directory to start afresh."
        )


@dataclass(eq=False)
class UnreadableFile(PlatformError):
    path: Path
    reason: str

    @property
    def message(self) -> str:
        return f"could not read {self.path}: {self.reason}"


# --- buildpack descriptors ----------------------------------------------------------------------


@dataclass(eq=False)
class BuildpackNotFound(PlatformError):
    path: Path

    @property
    def message(self) -> str:
        return (
            f"{self.path} is not a buildpack: it has no buildpack.toml. Pass the directory that "
            "holds buildpack.toml and bin/."
        )


@dataclass(eq=False)
class InvalidDescriptor(PlatformError):
    path: Path
    problems: tuple[str, ...]

    @property
    def message(self) -> str:
        return (
            f"{self.path} is not a valid buildpack descriptor:\n{_listing(self.problems, 50)}\n"
            f"See {_SPEC}#buildpacktoml-toml"
        )


@dataclass(eq=False)
class UnsupportedBuildpackApi(PlatformError):
    path: Path
    buildpack_id: str
    api: str
    supported: tuple[str, ...]

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack_id} ({self.path}) declares api = {self.api!r}, which this "
            f"platform does not implement (it implements {', '.join(self.supported)}). Declare "
            "one of those in buildpack.toml, if the buildpack really follows it."
        )


@dataclass(eq=False)
class CompositeBuildpackUnsupported(PlatformError):
    path: Path
    buildpack_id: str

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack_id} ({self.path}) is a composite ([[order]]); the local "
            "platform runs component buildpacks only. Pass its component buildpacks instead."
        )


# --- detect -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberReport:
    buildpack: str  # id@version
    optional: bool
    outcome: str  # pass | fail | skip | error
    detail: str = ""


@dataclass(frozen=True)
class GroupReport:
    members: tuple[MemberReport, ...]
    reason: str  # why the group did not pass


def _group_lines(groups: Sequence[GroupReport]) -> str:
    lines = []
    for number, group in enumerate(groups, 1):
        lines.append(f"group {number}: {group.reason}")
        for member in group.members:
            optional = " (optional)" if member.optional else ""
            detail = f": {member.detail}" if member.detail else ""
            lines.append(f"  {member.outcome:5} {member.buildpack}{optional}{detail}")
    return "\n".join(lines)


@dataclass(eq=False)
class DetectionFailed(PlatformError):
    groups: tuple[GroupReport, ...]
    exit_code: ClassVar[int] = 20

    @property
    def message(self) -> str:
        return (
            "no buildpack group passed detection. Check that APP is the right directory and "
            f"that it has what the buildpacks look for.\n{_group_lines(self.groups)}"
        )


@dataclass(eq=False)
class DetectionErrored(DetectionFailed):
    exit_code: ClassVar[int] = 21

    @property
    def message(self) -> str:
        return (
            "no buildpack group passed detection, and some buildpacks failed with an error (not "
            "a plain 'does not apply'); their output is above.\n"
            f"{_group_lines(self.groups)}"
        )


@dataclass(eq=False)
class AppModifiedByDetect(PlatformError):
    buildpack: str
    changes: tuple[str, ...]
    exit_code: ClassVar[int] = 22

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack} changed the app directory during detect, which the spec "
            f"makes read-only (bin/detect may only read it):\n{_listing(self.changes)}\n"
            "Move those writes to bin/build."
        )


# --- build --------------------------------------------------------------------------------------


@dataclass(eq=False)
class BuildpackNotRunnable(PlatformError):
    buildpack: str
    program: Path
    reason: str
    exit_code: ClassVar[int] = 52

    @property
    def message(self) -> str:
        return (
            f"could not start {self.program} of buildpack {self.buildpack}: {self.reason}. It "
            "must exist and be executable (chmod +x), with a working #! line."
        )


@dataclass(eq=False)
class BuildpackFailed(PlatformError):
    buildpack: str
    status: int  # the exit status, or -signal when killed
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        how = (
            f"was killed by signal {-self.status}"
            if self.status < 0
            else f"exited with status {self.status}"
        )
        return f"bin/build of buildpack {self.buildpack} {how}; its output is above. {_UNCHANGED}"


@dataclass(eq=False)
class InvalidLayerMetadata(PlatformError):
    buildpack: str
    path: Path
    reason: str
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack} wrote an invalid layer metadata file {self.path}: "
            f"{self.reason}. The flags belong in a [types] table (build, launch, cache: "
            f"booleans) and the buildpack's own data in [metadata]. {_UNCHANGED}"
        )


@dataclass(eq=False)
class ReservedLayerName(PlatformError):
    buildpack: str
    path: Path
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack} created a layer directory {self.path}, but `build`, "
            "`launch` and `store` are reserved (their .toml files are build.toml, launch.toml "
            f"and store.toml). Rename the layer. {_UNCHANGED}"
        )


@dataclass(eq=False)
class InvalidBuildpackOutput(PlatformError):
    buildpack: str
    path: Path
    reason: str
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack} wrote an invalid {self.path}: {self.reason}. " + _UNCHANGED
        )


@dataclass(eq=False)
class UnmetNotInPlan(PlatformError):
    buildpack: str
    name: str
    plan_names: tuple[str, ...]
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        names = ", ".join(self.plan_names) or "nothing"
        return (
            f"buildpack {self.buildpack} lists {self.name!r} under [[unmet]] in build.toml, but "
            f"its buildpack plan only holds: {names}. An unmet entry must match a requested "
            f"dependency. {_UNCHANGED}"
        )


@dataclass(eq=False)
class InvalidSbom(PlatformError):
    buildpack: str
    path: Path
    reason: str
    exit_code: ClassVar[int] = 51

    @property
    def message(self) -> str:
        return (
            f"buildpack {self.buildpack} wrote the SBOM file {self.path}: {self.reason}. SBOM "
            "files are <layer>.sbom.<ext> with ext cdx.json, spdx.json or syft.json, and each "
            f"media type must be listed in buildpack.toml's sbom-formats. {_UNCHANGED}"
        )


@dataclass(eq=False)
class InvalidEnvVar(PlatformError):
    name: str
    source: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"env var {self.name!r} from {self.source} cannot be passed to a process: "
            + self.reason
        )


# --- export -------------------------------------------------------------------------------------


@dataclass(eq=False)
class LayerWithoutContents(PlatformError):
    buildpack: str
    layer: str
    exit_code: ClassVar[int] = 62

    @property
    def message(self) -> str:
        return (
            f"layer {self.buildpack}:{self.layer} is cache = true and launch = true but has no "
            "directory, so there is nothing to export or cache (the lifecycle fails the same "
            "way). Create the directory, or set cache = false to reuse the previous image's "
            f"layer. {_UNCHANGED}"
        )


@dataclass(eq=False)
class CannotReuseLayer(PlatformError):
    buildpack: str
    layer: str
    exit_code: ClassVar[int] = 62

    @property
    def message(self) -> str:
        return (
            f"layer {self.buildpack}:{self.layer} is launch = true with no directory, which "
            "means 'reuse the previous image's layer', but the previous image has no such layer. "
            f"Create the layer's directory. {_UNCHANGED}"
        )


# --- launch -------------------------------------------------------------------------------------


@dataclass(eq=False)
class NoImage(PlatformError):
    root: Path
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return f"nothing has been built in {self.root} yet: run `pycnb build` first"


@dataclass(eq=False)
class ImageDamaged(PlatformError):
    root: Path
    damage: tuple[str, ...]
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return (
            f"the image in {self.root} can no longer be trusted: a failed build modified, in "
            "place, files that the image shares with the layer cache (hard links):\n"
            f"{_listing(self.damage)}\nRebuild the app. To avoid this, buildpacks should replace "
            "restored files (write a new file, then rename) rather than edit them in place."
        )


@dataclass(eq=False)
class InvalidLaunchRequest(PlatformError):
    reason: str
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return self.reason


@dataclass(eq=False)
class UnknownProcessType(PlatformError):
    requested: str
    available: tuple[str, ...]
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        available = ", ".join(self.available) or "none"
        return (
            f"the image has no process type {self.requested!r}. Process types: {available}. "
            "Or run a command instead: pycnb run APP -- CMD ARGS..."
        )


@dataclass(eq=False)
class NoDefaultProcess(PlatformError):
    available: tuple[str, ...]
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        available = ", ".join(self.available) or "none"
        return (
            "the image has no default process, so say what to run: a process type "
            f"(--process TYPE; the image has: {available}) or a command (-- CMD ARGS...)"
        )


@dataclass(eq=False)
class CommandNotFound(PlatformError):
    command: str
    reason: str
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return (
            f"cannot run {self.command!r}: {self.reason}. Use a name found on the launch PATH "
            "(a layer's bin/) or an absolute path."
        )


@dataclass(eq=False)
class ExecDFailed(PlatformError):
    program: Path
    reason: str
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return (
            f"exec.d program {self.program} failed ({self.reason}), so the launch was aborted, "
            "as the CNB launcher does. Its output is above."
        )


@dataclass(eq=False)
class InvalidExecDOutput(PlatformError):
    program: Path
    reason: str
    exit_code: ClassVar[int] = 82

    @property
    def message(self) -> str:
        return (
            f"exec.d program {self.program} wrote invalid output to fd 3: {self.reason}. It must "
            'write TOML with only top-level NAME = "string value" pairs.'
        )

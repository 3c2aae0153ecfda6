"""Errors of the image exporter: each carries the facts, and `str()` says what is wrong, where,
and how to fix it (the CLI prints it with no traceback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ImageError",
    "InvalidImageReference",
    "InvalidRunImage",
    "LayerChanged",
    "LayoutError",
    "NotBuilt",
    "RegistryError",
    "RunImageUnreachable",
    "UnsupportedLaunchEnv",
]

_FORMS = (
    "oci:DIR[:TAG] (an OCI image layout), docker-archive:FILE[:TAG] (for `docker load`), or a "
    "registry reference such as registry.example.com/team/app:TAG"
)


class ImageError(Exception):
    """Base of everything the exporter reports to the user."""


@dataclass(eq=False)
class InvalidImageReference(ImageError):
    reference: str
    problem: str

    def __str__(self) -> str:
        return f"invalid image reference {self.reference!r}: {self.problem}; use {_FORMS}"


@dataclass(eq=False)
class RunImageUnreachable(ImageError):
    reference: str
    reason: str

    def __str__(self) -> str:
        return (
            f"cannot read the run image {self.reference}: {self.reason}; pass --run-image with a "
            "reachable registry image or an OCI layout (oci:DIR[:TAG]) holding one"
        )


@dataclass(eq=False)
class InvalidRunImage(ImageError):
    reference: str
    problem: str

    def __str__(self) -> str:
        return f"the run image {self.reference} cannot be used: {self.problem}"


@dataclass(eq=False)
class RegistryError(ImageError):
    registry: str
    action: str
    reason: str
    hint: str = ""

    def __str__(self) -> str:
        hint = f"; {self.hint}" if self.hint else ""
        return f"registry {self.registry}: {self.action} failed: {self.reason}{hint}"


@dataclass(eq=False)
class LayerChanged(ImageError):
    path: str

    def __str__(self) -> str:
        return (
            f"the files of {self.path} changed while the image was exported; "
            "run the build again when nothing else writes to its root"
        )


@dataclass(eq=False)
class LayoutError(ImageError):
    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(eq=False)
class NotBuilt(ImageError):
    root: Path

    def __str__(self) -> str:
        return f"{self.root} holds no built app to export; run `pycnb build APP` first"


@dataclass(eq=False)
class UnsupportedLaunchEnv(ImageError):
    path: Path
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.problem}; the image's launcher (POSIX sh) cannot set it. "
            "Rename the variable to letters, digits and underscores"
        )

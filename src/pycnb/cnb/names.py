"""Names the CNB spec constrains: layer names, process types and buildpack ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BuildpackId", "LayerName", "ProcessType"]

# The lifecycle reserves these for the files beside the layers: build.toml, launch.toml, store.toml.
_RESERVED_LAYER_NAMES = frozenset({"build", "launch", "store"})
# A `.` would make the lifecycle attach `<name>.sbom.*` files to the wrong layer, and `.ignore` is
# how it marks ignored layers; both are legal in the spec but break in practice.
_LAYER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PROCESS_TYPE = re.compile(r"[A-Za-z0-9._-]+")
_BUILDPACK_ID = re.compile(r"[A-Za-z0-9./-]+")
_RESERVED_BUILDPACK_IDS = frozenset({"app", "config", "generated", "sbom"})


@dataclass(frozen=True, order=True)
class LayerName:
    value: str

    def __post_init__(self) -> None:
        if not _LAYER_NAME.fullmatch(self.value) or self.value in _RESERVED_LAYER_NAMES:
            raise ValueError(f"invalid layer name: {self.value!r}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class ProcessType:
    value: str

    def __post_init__(self) -> None:
        if not _PROCESS_TYPE.fullmatch(self.value):
            raise ValueError(f"invalid process type: {self.value!r}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class BuildpackId:
    value: str

    def __post_init__(self) -> None:
        if not _BUILDPACK_ID.fullmatch(self.value) or self.value in _RESERVED_BUILDPACK_IDS:
            raise ValueError(f"invalid buildpack id: {self.value!r}")

    @property
    def directory_name(self) -> str:
        """The name of the buildpack's directory under `<layers>` (`a/b` becomes `a_b`)."""
        return self.value.replace("/", "_")

    def __str__(self) -> str:
        return self.value

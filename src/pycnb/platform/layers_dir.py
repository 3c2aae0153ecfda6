"""A buildpack's layers directory as the lifecycle reads it: `<layer>.toml` files and layer dirs.

Only a `<layer>.toml` makes a layer (section 4.3): a directory without one is never exported,
cached or added to the env. `launch.toml`, `build.toml` and `store.toml` are the buildpack's own
files, which is why `launch`, `build` and `store` cannot be layer names.

Layer order is the byte order of the `.toml` file names, as the lifecycle's `os.ReadDir` gives
it when it folds layers into the build env (so `a-b` comes before `a`: '-' < '.').
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycnb.cnb.layers import LayerTypes
from pycnb.cnb.toml import InvalidToml, read_toml
from pycnb.platform.errors import ContentError, InvalidLayerMetadata, ReservedLayerName
from pycnb.platform.fstree import remove

__all__ = [
    "RESERVED_NAMES",
    "LayerState",
    "parse_layer_toml",
    "read_layers",
    "settle_layers",
]

RESERVED_NAMES = ("build", "launch", "store")
_FLAGS = ("build", "launch", "cache")


@dataclass(frozen=True)
class LayerState:
    """A layer as it stands on disk."""

    name: str
    path: Path
    types: LayerTypes
    metadata: Mapping[str, Any]

    @property
    def has_contents(self) -> bool:
        return os.path.lexists(self.path)

    @property
    def ignored(self) -> bool:
        return not (self.types.build or self.types.launch or self.types.cache)


def parse_layer_toml(data: Mapping[str, Any]) -> tuple[LayerTypes, dict[str, Any]]:
    """Validate a parsed `<layer>.toml` [L buildpack/layermetadata.go]. Raises ContentError."""
    if misplaced := [flag for flag in _FLAGS if flag in data]:
        raise ContentError(
            f"{', '.join(misplaced)} at the top level; the launch, cache and build flags "
            "belong in the [types] table"
        )
    types = data.get("types", {})
    if not isinstance(types, Mapping):
        raise ContentError("types must be a table")
    for flag in _FLAGS:
        if flag in types and not isinstance(types[flag], bool):
            raise ContentError(f"types.{flag} must be a boolean, not {types[flag]!r}")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise ContentError("metadata must be a table")
    # Missing [types] or missing keys mean false (section 4.1); restored files never have them.
    return (
        LayerTypes(
            build=types.get("build", False),
            launch=types.get("launch", False),
            cache=types.get("cache", False),
        ),
        dict(metadata),
    )


def _layer_toml_names(bp_layers_dir: Path) -> list[str]:
    if not bp_layers_dir.is_dir():
        return []
    tomls = sorted(
        (p.name for p in bp_layers_dir.iterdir() if p.name.endswith(".toml") and not p.is_dir()),
        key=os.fsencode,
    )
    names = [name.removesuffix(".toml") for name in tomls]
    return [name for name in names if name not in RESERVED_NAMES]


def read_layers(bp_layers_dir: Path, buildpack_id: str) -> list[LayerState]:
    layers = []
    for name in _layer_toml_names(bp_layers_dir):
        toml_path = bp_layers_dir / f"{name}.toml"
        try:
            types, metadata = parse_layer_toml(read_toml(toml_path))
        except InvalidToml as error:
            raise InvalidLayerMetadata(buildpack_id, toml_path, error.reason) from None
        except ContentError as error:
            raise InvalidLayerMetadata(buildpack_id, toml_path, str(error)) from None
        except OSError as error:
            raise InvalidLayerMetadata(buildpack_id, toml_path, str(error)) from None
        layers.append(LayerState(name, bp_layers_dir / name, types, metadata))
    return layers


def settle_layers(bp_layers_dir: Path, buildpack_id: str) -> list[LayerState]:
    """What the lifecycle does right after a buildpack's bin/build: read every layer, and rename
    the directory of each all-false layer to `<layer>.ignore` (rule 37), so later buildpacks
    cannot come to depend on scratch space."""
    for name in RESERVED_NAMES:
        if (bp_layers_dir / name).is_dir():
            raise ReservedLayerName(buildpack_id, bp_layers_dir / name)
    layers = read_layers(bp_layers_dir, buildpack_id)
    settled = []
    for layer in layers:
        if layer.ignored and layer.has_contents:
            ignored = layer.path.with_name(f"{layer.name}.ignore")
            if os.path.lexists(ignored):
                remove(ignored)
            layer.path.rename(ignored)
        settled.append(layer)
    return settled

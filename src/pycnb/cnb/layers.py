"""Layers: definitions, restore decisions and the handle a buildpack writes through.

A buildpack never sets the `cache` flag by hand. It asks for a cached layer, which must come with
the callbacks that decide whether restored contents are still valid, or an uncached one, which is
always empty. Either way it gets a `LayerRef` whose `state` says what happened and why, so log
lines such as "Discarding cached Python since: ..." come straight from the decision.

Restored `<layer>.toml` files never carry `[types]` (the lifecycle strips them), so a kept layer
gets its types rewritten at once. A new layer gets its `.toml` only from `write_metadata`, the
last step, written atomically: until then the platform sees a directory without a `.toml`, which
it neither exports nor caches, so a build killed half-way cannot leave a layer that looks complete.
"""

from __future__ import annotations

import dataclasses
import shutil
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

from pycnb.cnb.layer_env import LayerEnv, layer_path_env
from pycnb.cnb.names import LayerName
from pycnb.cnb.toml import InvalidToml, read_toml, write_toml

__all__ = [
    "CachedLayer",
    "DeleteLayer",
    "Empty",
    "InvalidMetadata",
    "LayerRef",
    "LayerTypes",
    "NewlyCreated",
    "Rejected",
    "ReplaceMetadata",
    "Restored",
    "RestoredLayerAction",
    "metadata_from_table",
    "metadata_to_table",
    "open_cached_layer",
    "open_uncached_layer",
]

M = TypeVar("M")  # a layer's metadata: a frozen dataclass of str, int, bool fields
C = TypeVar("C")  # why a restored layer was kept or rejected, as the buildpack describes it


@dataclass(frozen=True)
class LayerTypes:
    build: bool
    launch: bool
    cache: bool


class RestoredLayerAction(Enum):
    KEEP = "keep"
    DELETE = "delete"


@dataclass(frozen=True)
class DeleteLayer:
    pass


@dataclass(frozen=True)
class ReplaceMetadata(Generic[M]):
    metadata: M


def _delete_invalid(_table: Mapping[str, Any]) -> DeleteLayer:
    return DeleteLayer()


@dataclass(frozen=True)
class CachedLayer(Generic[M, C]):
    build: bool
    launch: bool
    metadata_type: type[M]
    # Called with the restored metadata and the layer's path; says whether to keep it, and why.
    restored_layer_action: Callable[[M, Path], tuple[RestoredLayerAction, C]]
    # Called when the restored `[metadata]` no longer fits `metadata_type` (for example after a
    # buildpack upgrade changed its shape). Replacing it is how a migration is written.
    invalid_metadata_action: Callable[[Mapping[str, Any]], DeleteLayer | ReplaceMetadata[M]] = (
        _delete_invalid
    )


@dataclass(frozen=True)
class NewlyCreated:
    pass


@dataclass(frozen=True)
class InvalidMetadata:
    problem: str  # what did not fit: a missing key, an unexpected key, a wrong type


@dataclass(frozen=True)
class Rejected(Generic[C]):
    cause: C


@dataclass(frozen=True)
class Restored(Generic[C]):
    cause: C


@dataclass(frozen=True)
class Empty(Generic[C]):
    cause: NewlyCreated | InvalidMetadata | Rejected[C]


@dataclass(frozen=True)
class LayerRef(Generic[M, C]):
    name: LayerName
    path: Path
    types: LayerTypes
    state: Restored[C] | Empty[C]

    @property
    def toml_path(self) -> Path:
        return self.path.parent / f"{self.name}.toml"

    def write_metadata(self, metadata: M) -> None:
        """Write `<layer>.toml`: the types and the metadata. Call this last, once the layer is
        complete; the write is atomic."""
        write_toml(
            self.toml_path,
            {"types": dataclasses.asdict(self.types), "metadata": metadata_to_table(metadata)},
        )

    def write_env(self, env: LayerEnv) -> LayerEnv:
        """Write the layer's env files and return the env the layer will effectively add,
        including the implicit `bin/`, `lib/`... path entries."""
        env.write_to(self.path)
        return layer_path_env(self.path) + env


def open_cached_layer(
    layers_dir: Path, name: LayerName, definition: CachedLayer[M, C]
) -> LayerRef[M, C]:
    types = LayerTypes(build=definition.build, launch=definition.launch, cache=True)
    layer_dir = layers_dir / str(name)
    toml_path = layers_dir / f"{name}.toml"
    state = _restore_decision(toml_path, layer_dir, definition)
    ref: LayerRef[M, C] = LayerRef(name, layer_dir, types, state)
    if isinstance(state, Restored):
        # The restored .toml has no [types]; without them the layer would be dropped.
        ref.write_metadata(_read_metadata(toml_path, definition))
    else:
        _reset(toml_path, layer_dir)
    return ref


def open_uncached_layer(
    layers_dir: Path, name: LayerName, *, build: bool, launch: bool
) -> LayerRef[Any, None]:
    layer_dir = layers_dir / str(name)
    _reset(layers_dir / f"{name}.toml", layer_dir)
    types = LayerTypes(build=build, launch=launch, cache=False)
    return LayerRef(name, layer_dir, types, Empty(NewlyCreated()))


def _restore_decision(
    toml_path: Path, layer_dir: Path, definition: CachedLayer[M, C]
) -> Restored[C] | Empty[C]:
    # A cached layer comes back with both metadata and contents or not at all; anything else
    # (say, a .toml restored from a previous image without the cache) is a new layer.
    if not toml_path.is_file() or not layer_dir.is_dir():
        return Empty(NewlyCreated())
    try:
        table = read_toml(toml_path).get("metadata", {})
    except InvalidToml as error:
        return Empty(InvalidMetadata(str(error)))
    try:
        metadata = metadata_from_table(definition.metadata_type, table)
    except ValueError as error:
        match definition.invalid_metadata_action(table):
            case ReplaceMetadata(metadata=replacement):
                metadata = replacement
                write_toml(toml_path, {"metadata": metadata_to_table(metadata)})
            case DeleteLayer():
                return Empty(InvalidMetadata(str(error)))
    action, cause = definition.restored_layer_action(metadata, layer_dir)
    if action is RestoredLayerAction.KEEP:
        return Restored(cause)
    return Empty(Rejected(cause))


def _read_metadata(toml_path: Path, definition: CachedLayer[M, C]) -> M:
    return metadata_from_table(definition.metadata_type, read_toml(toml_path).get("metadata", {}))


def _reset(toml_path: Path, layer_dir: Path) -> None:
    # Remove the .toml first: from here on nothing describes the directory as complete.
    toml_path.unlink(missing_ok=True)
    if layer_dir.is_symlink() or layer_dir.is_file():
        layer_dir.unlink()
    elif layer_dir.exists():
        shutil.rmtree(layer_dir)
    layer_dir.mkdir(parents=True)


_SCALARS = (str, int, bool)


def metadata_to_table(metadata: object) -> dict[str, Any]:
    if not dataclasses.is_dataclass(metadata) or isinstance(metadata, type):
        raise TypeError(f"layer metadata must be a dataclass instance, not {metadata!r}")
    return dataclasses.asdict(metadata)


def metadata_from_table(metadata_type: type[M], table: Mapping[str, Any]) -> M:
    """Build `metadata_type` from a TOML table, strictly: the keys must be exactly the fields and
    each value of the field's type. Raises ValueError saying what did not fit."""
    if not dataclasses.is_dataclass(metadata_type):
        raise TypeError(f"{metadata_type!r} is not a dataclass")
    hints = typing.get_type_hints(metadata_type)
    names = {f.name for f in dataclasses.fields(metadata_type)}
    if missing := sorted(names - table.keys()):
        raise ValueError(f"missing keys: {', '.join(missing)}")
    if unexpected := sorted(table.keys() - names):
        raise ValueError(f"unexpected keys: {', '.join(unexpected)}")
    for name in names:
        expected = hints[name]
        value = table[name]
        if expected not in _SCALARS:
            message = f"{metadata_type.__name__}.{name}: only str, int and bool are supported"
            raise TypeError(message)
        # bool is an int in Python, but a TOML boolean is never a version number.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(f"{name} should be {expected.__name__}, found {value!r}")
    return metadata_type(**table)

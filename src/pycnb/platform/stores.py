"""The on-disk image and layer cache: their metadata records and where their files live.

The lifecycle keeps the image's layer metadata in an image label and the cache's in the cache
image; here both are TOML files with one record per layer: its flags, its `[metadata]`, and a
generation id. A generation id is minted whenever a layer is exported with contents, and the
cache and image get the same id for the same export, so "the cache holds the very layer the
previous image holds" (rule 39) is an equality of ids, as the lifecycle compares digests.

Layout:
    <root>/image/metadata.toml          records (+ store.toml data) and labels
    <root>/image/damaged.toml           written only if a failed build modified the image
    <root>/image/sbom/build/...         build SBOMs (not part of the image, kept to inspect)
    <root>/layers/<bp>/<layer>/          the image's launch layers, at their build-time paths
    <root>/layers/sbom/launch/...        the image's SBOM layer
    <root>/layers/config/metadata.toml   processes and buildpacks, what the launcher reads
    <root>/cache/metadata.toml           records of cached layers
    <root>/cache/seal                    filesystem time after which nothing changed the cache
    <root>/cache/layers/<bp>/<layer>/    cached layer contents
    <root>/cache/sbom/<bp>/<layer>/      cached layer SBOMs
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycnb.cnb.layers import LayerTypes
from pycnb.cnb.names import BuildpackId
from pycnb.cnb.toml import InvalidToml, read_toml, write_atomically, write_toml
from pycnb.platform.errors import CorruptState
from pycnb.platform.fstree import remove

__all__ = [
    "BuildpackRecord",
    "CacheStore",
    "CarriedLayer",
    "ImageStore",
    "LayerRecord",
    "Records",
    "sbom_files",
]

_SCHEMA = 1


@dataclass(frozen=True)
class LayerRecord:
    name: str
    types: LayerTypes
    metadata: Mapping[str, Any]
    generation: str

    def to_table(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "build": self.types.build,
            "launch": self.types.launch,
            "cache": self.types.cache,
            "generation": self.generation,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class BuildpackRecord:
    id: str
    version: str
    api: str
    layers: tuple[LayerRecord, ...] = ()
    store: Mapping[str, Any] | None = None  # store.toml's [metadata]; image records only

    def layer(self, name: str) -> LayerRecord | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"id": self.id, "version": self.version, "api": self.api}
        if self.store is not None:
            table["store"] = dict(self.store)
        table["layers"] = [layer.to_table() for layer in self.layers]
        return table


@dataclass(frozen=True)
class Records:
    buildpacks: tuple[BuildpackRecord, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def buildpack(self, buildpack_id: str) -> BuildpackRecord | None:
        return next((bp for bp in self.buildpacks if bp.id == buildpack_id), None)

    def without_layer(self, buildpack_id: str, layer: str) -> Records:
        buildpacks = tuple(
            BuildpackRecord(
                bp.id,
                bp.version,
                bp.api,
                tuple(lr for lr in bp.layers if bp.id != buildpack_id or lr.name != layer),
                bp.store,
            )
            for bp in self.buildpacks
        )
        return Records(buildpacks, self.labels, self.extra)


def write_records(path: Path, records: Records) -> None:
    data: dict[str, Any] = {"schema": _SCHEMA, **records.extra}
    data["buildpacks"] = [bp.to_table() for bp in records.buildpacks]
    data["labels"] = [{"key": k, "value": v} for k, v in records.labels]
    write_toml(path, data)


def read_records(path: Path) -> Records:
    """Read a metadata file; a missing one means "no image" or "empty cache"."""
    try:
        data = read_toml(path)
    except FileNotFoundError:
        return Records()
    except (InvalidToml, OSError) as error:
        raise CorruptState(path, str(error)) from None
    try:
        return _parse_records(data)
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptState(path, f"unexpected content ({error!r})") from None


def _parse_records(data: Mapping[str, Any]) -> Records:
    if data.get("schema") != _SCHEMA:
        raise ValueError(f"schema {data.get('schema')!r}")
    buildpacks = []
    for bp in data["buildpacks"]:
        layers = tuple(
            LayerRecord(
                name=_str(layer["name"]),
                types=LayerTypes(
                    build=_bool(layer["build"]),
                    launch=_bool(layer["launch"]),
                    cache=_bool(layer["cache"]),
                ),
                metadata=dict(layer["metadata"]),
                generation=_str(layer["generation"]),
            )
            for layer in bp["layers"]
        )
        store = bp.get("store")
        buildpacks.append(
            BuildpackRecord(
                _str(bp["id"]),
                _str(bp["version"]),
                _str(bp["api"]),
                layers,
                dict(store) if store is not None else None,
            )
        )
    labels = tuple((_str(lb["key"]), _str(lb["value"])) for lb in data.get("labels", []))
    extra = {k: v for k, v in data.items() if k not in {"schema", "buildpacks", "labels"}}
    return Records(tuple(buildpacks), labels, extra)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _bp_dir(buildpack_id: str) -> str:
    return BuildpackId(buildpack_id).directory_name


class CacheStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def metadata_path(self) -> Path:
        return self.root / "metadata.toml"

    @property
    def seal_path(self) -> Path:
        return self.root / "seal"

    def layer_dir(self, buildpack_id: str, layer: str) -> Path:
        return self.root / "layers" / _bp_dir(buildpack_id) / layer

    def sbom_dir(self, buildpack_id: str, layer: str) -> Path:
        return self.root / "sbom" / _bp_dir(buildpack_id) / layer

    def read(self) -> Records:
        return read_records(self.metadata_path)

    def write(self, records: Records) -> None:
        write_records(self.metadata_path, records)

    def sealed_at(self) -> int | None:
        """The filesystem time after which no cached file may have changed, if sealed."""
        try:
            return int(self.seal_path.read_text(encoding="ascii").strip())
        except (FileNotFoundError, ValueError):
            return None

    def seal(self, at_ns: int) -> None:
        if self.root.is_dir():
            write_atomically(self.seal_path, f"{at_ns}\n".encode())

    def drop(self, buildpack_id: str, layer: str) -> None:
        """Forget a cached layer: the record goes first, so its files are never trusted again."""
        records = self.read()
        if records.buildpack(buildpack_id) is not None:
            self.write(records.without_layer(buildpack_id, layer))
        remove(self.layer_dir(buildpack_id, layer))
        remove(self.sbom_dir(buildpack_id, layer))


@dataclass(frozen=True)
class CarriedLayer:
    """A cached layer the new cache takes over from the old one at commit, instead of a new
    tree of links to the build's layer: `old` (the old cache's copy) moves to `new` (in the
    staged cache), then the `differences` between them are synced from `built`, the build's
    layer, which is the image's from then on (`fstree.compare_trees`, `fstree.sync_tree`)."""

    old: Path
    new: Path
    built: Path
    differences: tuple[str, ...]


class ImageStore:
    """The image as it lies on disk: metadata in `image_dir`, files in `layers_dir`."""

    def __init__(self, image_dir: Path, layers_dir: Path) -> None:
        self.image_dir = image_dir
        self.layers_dir = layers_dir

    @property
    def metadata_path(self) -> Path:
        return self.image_dir / "metadata.toml"

    @property
    def damaged_path(self) -> Path:
        return self.image_dir / "damaged.toml"

    @property
    def launch_metadata_path(self) -> Path:
        return self.layers_dir / "config" / "metadata.toml"

    def exists(self) -> bool:
        return self.metadata_path.is_file()

    def read(self) -> Records:
        return read_records(self.metadata_path)

    def layer_dir(self, buildpack_id: str, layer: str) -> Path:
        return self.layers_dir / _bp_dir(buildpack_id) / layer

    def launch_sbom_dir(self, buildpack_id: str, layer: str | None = None) -> Path:
        base = self.layers_dir / "sbom" / "launch" / _bp_dir(buildpack_id)
        return base if layer is None else base / layer

    def build_sbom_dir(self, buildpack_id: str, layer: str | None = None) -> Path:
        base = self.image_dir / "sbom" / "build" / _bp_dir(buildpack_id)
        return base if layer is None else base / layer

    def damage(self) -> tuple[str, ...]:
        try:
            data = read_toml(self.damaged_path)
        except FileNotFoundError:
            return ()
        except (InvalidToml, OSError):
            return ("(the damage record itself is unreadable)",)
        files = data.get("files", [])
        return tuple(str(f) for f in files) if isinstance(files, list) else ()

    def record_damage(self, files: Sequence[str]) -> None:
        known = list(self.damage())
        write_toml(self.damaged_path, {"files": sorted({*known, *files})})


def sbom_files(directory: Path) -> list[Path]:
    """`sbom.<ext>` files in an SBOM directory, if any."""
    if not directory.is_dir():
        return []
    return sorted(
        (p for p in directory.iterdir() if p.is_file() and p.name.startswith("sbom.")),
        key=lambda p: os.fsencode(p.name),
    )

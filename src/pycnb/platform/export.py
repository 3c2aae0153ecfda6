"""The export phase: turn a successful build into the next image and the next cache.

Copies the lifecycle's exporter and cacher (`phase/exporter.go`, `phase/cache.go`):

- each `launch = true` layer with a directory is exported (rules 27, 35); one without a
  directory reuses the previous image's layer with the new metadata (rule 34), and fails when
  there is none or when it is also `cache = true` (rule 38);
- the cache is rebuilt from this build's `cache = true` layers only (rules 28, 36); one without a
  directory is skipped with a warning; layers of buildpacks outside the group simply vanish;
- SBOMs go to `<layers>/sbom/launch/...` (in the image), build ones aside, cache copies to the
  cache (rule 52); `store.toml` goes into the image metadata (rule 41);
- processes, buildpacks and labels go to `<layers>/config/metadata.toml`;
- every exported file gets the lifecycle's constant mtime (rule 53).

Nothing is copied. Launch layers stay where the build made them (they are the image, at the same
absolute path, rule 42); cached launch layers are hard-linked into the cache; cache-only layers
are renamed into it. All of it lands in staging directories; `journal.py` commits them.

A cached launch layer that restore handed out (linked from the old cache, or borrowed from the
previous image as exactly that tree) is not linked into the new cache again: the old cache's copy
is carried over at commit, and only the entries the build changed in it are synced (a
buildpack rewriting its env files, a package added to a venv), so the cost follows the change,
not the layer's size. `fstree.compare_trees` finds those entries by path and inode identity, which
is all a tree of hard links holds: a file the build wrote in place is the very inode the old
cache's copy has, so it needs nothing. The same walk tells which entries still need the
constant mtime, so the layer is not walked again to normalize it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pycnb.cnb.layers import LayerTypes
from pycnb.platform.build import BuildOutput
from pycnb.platform.buildpack_descriptor import BuildpackDescriptor
from pycnb.platform.buildpack_output import parse_store_toml, read_output_file
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.errors import (
    CannotReuseLayer,
    ContentError,
    InvalidBuildpackOutput,
    LayerWithoutContents,
)
from pycnb.platform.fstree import (
    Trash,
    compare_trees,
    link_tree,
    normalize_mtimes,
    remove,
    stamp,
)
from pycnb.platform.layers_dir import LayerState, read_layers
from pycnb.platform.processes import write_launch_metadata
from pycnb.platform.sbom import SbomFile, scan_sboms
from pycnb.platform.seals import LayerSeal
from pycnb.platform.stores import (
    BuildpackRecord,
    CacheStore,
    CarriedLayer,
    ImageStore,
    LayerRecord,
    Records,
    write_records,
)

__all__ = ["ExportResult", "ExportedLayer", "export"]


@dataclass(frozen=True)
class ExportedLayer:
    buildpack_id: str
    name: str
    types: LayerTypes
    reused: bool  # the previous image's contents, with new metadata
    path: Path  # where it lives in the image (once committed)


@dataclass(frozen=True)
class ExportResult:
    layers: tuple[ExportedLayer, ...]
    cached: tuple[str, ...]  # "<bp>:<layer>"
    moves: tuple[tuple[Path, Path], ...]  # reused layers: previous image -> new image
    carried: tuple[CarriedLayer, ...] = ()  # restored cached layers: old cache -> new cache


@dataclass
class _Staging:
    image: ImageStore
    cache: CacheStore
    previous: ImageStore
    previous_records: Records
    restored: dict[tuple[str, str], LayerSeal]  # what restore linked or borrowed, by layer
    log: Callable[[str], None]
    trash: Trash
    previous_pinned: bool = False
    exported: list[ExportedLayer] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    carried: list[CarriedLayer] = field(default_factory=list)
    stamped: list[Path] = field(default_factory=list)  # layers already given the constant mtime


def export(
    group: Sequence[BuildpackDescriptor],
    output: BuildOutput,
    *,
    dirs: PlatformDirs,
    previous: ImageStore,
    image_dir: Path,
    cache_dir: Path,
    log: Callable[[str], None],
    trash: Trash,
    restored: Sequence[LayerSeal] = (),
    previous_pinned: bool = False,
) -> ExportResult:
    """Stage the new image metadata in `image_dir` and the new cache in `cache_dir`; leave in
    `dirs.layers` exactly the image's layers. `restored`, restore's seals, says which old cache
    copies the build's layers came from: those are carried over rather than linked again.
    `previous_pinned`: a running app uses the previous image, so reused layers are linked from
    it rather than moved out of it. What the image and cache leave out goes to `trash`."""
    staging = _Staging(
        image=ImageStore(image_dir, dirs.layers),
        cache=CacheStore(cache_dir),
        previous=previous,
        previous_records=previous.read() if previous.exists() else Records(),
        restored={(seal.buildpack_id, seal.layer): seal for seal in restored},
        log=log,
        trash=trash,
        previous_pinned=previous_pinned,
    )
    # Check everything that can fail before changing anything, so a failed export leaves the
    # build's layers (and what they share with the cache) as they were.
    checked = [_check_buildpack(d, dirs.layers, staging) for d in group]
    # Anything a buildpack left outside its own directory is not part of the image.
    keep = {d.directory_name for d in group}
    for entry in dirs.layers.iterdir():
        if entry.name not in keep:
            remove(entry)
    image_bps, cache_bps = [], []
    for item in checked:
        image_bp, cache_bp = _export_buildpack(item, staging)
        image_bps.append(image_bp)
        cache_bps.append(cache_bp)
    log(f"Adding app layer ({dirs.workspace})")
    write_launch_metadata(
        staging.image.launch_metadata_path,
        buildpacks=[(d.id, d.version, d.api) for d in group],
        processes=output.processes,
        labels=output.labels,
        slices=output.slices,
    )
    for process in output.processes.processes:
        log(f"Process type {process.type!r}: {' '.join(process.command)}")
    if output.processes.default_type:
        log(f"Default process type: {output.processes.default_type}")
    normalize_mtimes(dirs.workspace)
    # Only this build's layers: reused ones move in at commit.
    normalize_mtimes(dirs.layers, skip=staging.stamped)
    write_records(staging.image.metadata_path, Records(tuple(image_bps), output.labels))
    staging.cache.root.mkdir(parents=True, exist_ok=True)
    staging.cache.write(Records(tuple(cache_bps)))
    return ExportResult(
        tuple(staging.exported),
        tuple(staging.cached),
        tuple(staging.moves),
        tuple(staging.carried),
    )


@dataclass(frozen=True)
class _Checked:
    descriptor: BuildpackDescriptor
    bp_dir: Path
    layers: tuple[LayerState, ...]
    sboms: tuple[SbomFile, ...]
    store: dict[str, object] | None


def _check_buildpack(
    descriptor: BuildpackDescriptor, layers_dir: Path, staging: _Staging
) -> _Checked:
    bp_dir = layers_dir / descriptor.directory_name
    layers = tuple(read_layers(bp_dir, descriptor.id))
    for layer in layers:
        if layer.types.launch and not layer.has_contents:
            if layer.types.cache:
                raise LayerWithoutContents(descriptor.id, layer.name)
            if _reusable(descriptor, layer, staging) is None:
                raise CannotReuseLayer(descriptor.id, layer.name)
    sboms = tuple(scan_sboms(bp_dir, descriptor.id, descriptor.sbom_formats))
    return _Checked(descriptor, bp_dir, layers, sboms, _store(descriptor, bp_dir))


def _reusable(
    descriptor: BuildpackDescriptor, layer: LayerState, staging: _Staging
) -> tuple[LayerRecord, Path] | None:
    """The previous image's record of the layer, and where its contents are now."""
    previous_bp = staging.previous_records.buildpack(descriptor.id)
    previous = previous_bp.layer(layer.name) if previous_bp is not None else None
    if previous is None or not previous.types.launch:
        return None
    source = staging.previous.layer_dir(descriptor.id, layer.name)
    seal = staging.restored.get((descriptor.id, layer.name))
    if not source.is_dir() and seal is not None and seal.borrowed:
        # Restore lent the image's copy to the build, which then removed it; the old cache's
        # copy was exactly that tree.
        source = seal.cache_dir
    if not source.is_dir():
        return None
    return previous, source


def _export_buildpack(item: _Checked, staging: _Staging) -> tuple[BuildpackRecord, BuildpackRecord]:
    descriptor = item.descriptor
    image_layers, cache_layers = [], []
    keep: set[str] = set()
    cached: set[str] = set()
    # Directories neither the image nor the cache keeps (a tool's scratch download cache, say)
    # go first, deleted while the layers that stay are linked into the cache.
    stays = {layer.name for layer in item.layers if layer.types.launch or layer.types.cache}
    for entry in item.bp_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink() and entry.name not in stays:
            staging.trash.discard(entry)
    for layer in item.layers:
        generation = uuid.uuid4().hex
        if layer.types.launch:
            record = _export_launch_layer(descriptor, layer, generation, staging)
            image_layers.append(record)
            generation = record.generation
            if layer.has_contents:
                keep.add(layer.name)
        if layer.types.cache and _cache_layer(descriptor, layer, staging):
            cached.add(layer.name)
            cache_layers.append(LayerRecord(layer.name, layer.types, layer.metadata, generation))
    _place_sboms(
        descriptor, item.sboms, {layer.name: layer for layer in item.layers}, cached, staging
    )
    for entry in item.bp_dir.iterdir():
        if entry.name not in keep:
            remove(entry)
    return (
        BuildpackRecord(
            descriptor.id, descriptor.version, descriptor.api, tuple(image_layers), item.store
        ),
        BuildpackRecord(descriptor.id, descriptor.version, descriptor.api, tuple(cache_layers)),
    )


def _store(descriptor: BuildpackDescriptor, bp_dir: Path) -> dict[str, object] | None:
    path = bp_dir / "store.toml"
    data = read_output_file(path, descriptor.id)
    if data is None:
        return None
    try:
        return parse_store_toml(data)
    except ContentError as error:
        raise InvalidBuildpackOutput(descriptor.id, path, str(error)) from None


def _export_launch_layer(
    descriptor: BuildpackDescriptor, layer: LayerState, generation: str, staging: _Staging
) -> LayerRecord:
    identifier = f"{descriptor.id}:{layer.name}"
    if layer.has_contents:
        staging.log(f"Adding layer {identifier!r}")
        staging.exported.append(
            ExportedLayer(descriptor.id, layer.name, layer.types, reused=False, path=layer.path)
        )
        return LayerRecord(layer.name, layer.types, layer.metadata, generation)
    reusable = _reusable(descriptor, layer, staging)
    if reusable is None:  # _check_buildpack ruled this out
        raise CannotReuseLayer(descriptor.id, layer.name)
    previous, source = reusable
    staging.log(f"Reusing layer {identifier!r}")
    if source == staging.previous.layer_dir(descriptor.id, layer.name) and not (
        staging.previous_pinned
    ):
        staging.moves.append((source, layer.path))
    else:
        # The cache's copy must stay where it is until the commit point, and its directories
        # were never stamped: a new tree of links, normalized with this build's layers.
        link_tree(source, layer.path)
    staging.exported.append(
        ExportedLayer(descriptor.id, layer.name, layer.types, reused=True, path=layer.path)
    )
    # The contents (and so the generation) are the previous image's; the metadata is this build's.
    return LayerRecord(layer.name, layer.types, layer.metadata, previous.generation)


def _cache_layer(descriptor: BuildpackDescriptor, layer: LayerState, staging: _Staging) -> bool:
    identifier = f"{descriptor.id}:{layer.name}"
    if not layer.has_contents:
        staging.log(f"Warning: layer {identifier!r} is cache=true but has no contents; not cached")
        return False
    destination = staging.cache.layer_dir(descriptor.id, layer.name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if not layer.types.launch:
        layer.path.rename(destination)
    elif not _carry_over(descriptor, layer, destination, staging):
        # It stays in the image too, so it is stamped on the way: nothing else writes to it.
        link_tree(layer.path, destination, stamp_source=True)
        staging.stamped.append(layer.path)
    staging.log(f"Adding cache layer {identifier!r}")
    staging.cached.append(identifier)
    return True


def _carry_over(
    descriptor: BuildpackDescriptor, layer: LayerState, destination: Path, staging: _Staging
) -> bool:
    """Plan to carry the old cache's copy of a restored layer over to `destination`, synced
    with the build's changes; False if restore did not hand it out (or it cannot be read)."""
    seal = staging.restored.get((descriptor.id, layer.name))
    if seal is None:
        return False
    comparison = compare_trees(layer.path, seal.cache_dir)
    if comparison is None:
        return False
    staging.carried.append(
        CarriedLayer(seal.cache_dir, destination, layer.path, comparison.differences)
    )
    # Nothing else writes to the layer before normalize_mtimes: what is unstamped now is all
    # there is to stamp.
    stamp(layer.path, comparison.unstamped)
    staging.stamped.append(layer.path)
    return True


def _place_sboms(
    descriptor: BuildpackDescriptor,
    sboms: Sequence[SbomFile],
    layers: dict[str, LayerState],
    cached: set[str],
    staging: _Staging,
) -> None:
    for sbom in sboms:
        targets: list[Path] = []
        if sbom.owner == "launch":
            targets.append(staging.image.launch_sbom_dir(descriptor.id))
        elif sbom.owner == "build":
            targets.append(staging.image.build_sbom_dir(descriptor.id))
        elif (layer := layers.get(sbom.owner)) is not None:
            if layer.types.launch:
                targets.append(staging.image.launch_sbom_dir(descriptor.id, layer.name))
            else:
                targets.append(staging.image.build_sbom_dir(descriptor.id, layer.name))
            if layer.name in cached:
                targets.append(staging.cache.sbom_dir(descriptor.id, layer.name))
        else:
            staging.log(
                f"Warning: {sbom.path.name} belongs to no layer of {descriptor.id} (no "
                f"{sbom.owner}.toml); ignoring it"
            )
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sbom.path, target / sbom.target_name)

"""The restore phase: what a fresh `<layers>` gets back from the previous image and the cache.

Copies the lifecycle (`internal/layer/metadata_restorer.go`, `phase/restorer.go`), for the
buildpacks of the chosen group only, and decides by the flags recorded at the last export
(table 4.5, rules 29-33, 39, 41):

- `store.toml` comes back from the previous image;
- a previous image's `launch = true` layer gets its `<layer>.toml` back (`[metadata]` only, never
  `[types]`), unless it was `build = true, cache = false` (always rebuilt), or `cache = true` and
  the cache does not hold it;
- a cached `launch = false` layer gets its `<layer>.toml` back from the cache;
- every restored `cache = true` layer then gets its contents from the cache, provided the cache's
  generation equals the one the metadata came with; otherwise both go (contents and metadata
  come back together or not at all);
- layer SBOMs come back next to the restored `<layer>.toml`; `launch.sbom.*`/`build.sbom.*` never.

Contents are hard-linked from the cache, never copied, and sealed (see `seals.py`). A cached
layer changed after the cache was sealed (say, an app edited its venv in place at run time) is
dropped instead of restored.

Borrowing. A `cache = true, launch = true` layer restored with the previous image's metadata is,
on a warm rebuild, usually still exactly the cache's tree in the parked image: export made the
one match the other, and nothing touched either since. Then restore renames the parked image's
copy into the build instead of linking a new tree from the cache (a 10k-file venv: one rename
instead of thousands of mkdirs and links now and as many rmdirs at commit), once
`fstree.compare_trees` has shown it is exactly the cache's tree: same paths, same inodes, same
directory modes, nothing changed after the cache's seal. So what the build gets is the same
either way, and files an app wrote into the image's layer at run time (`__pycache__`, say) fail
the match and are never restored: the layer is linked from the cache, as before. The
transaction writes the borrow ahead in its journal and, if the build fails, gives the layer back
(see `journal.py`).

Cache-only layers (`launch = false`) are always linked, never borrowed: the cache holds their only
copy, so a failed build that wrote into a borrowed one (a failed pip install still fills pip's
cache) would leave nothing intact to give back, and the whole layer would have to go.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.toml import write_toml
from pycnb.platform.buildpack_descriptor import BuildpackDescriptor
from pycnb.platform.fstree import TamperedFile, compare_trees, link_tree, remove
from pycnb.platform.seals import LayerSeal
from pycnb.platform.stores import CacheStore, ImageStore, LayerRecord, Records, sbom_files

__all__ = ["Borrow", "RestoreResult", "RestoredLayer", "restore"]

# (buildpack id, layer, the parked image's layer dir, the build's layer dir, the cache's copy):
# moves the first directory to the second, after recording it so it can be given back.
Borrow = Callable[[str, str, Path, Path, Path], None]


@dataclass(frozen=True)
class RestoredLayer:
    buildpack_id: str
    name: str
    metadata_from: str  # "image" or "cache"
    contents: bool
    borrowed: bool = False  # the contents are the previous image's tree, renamed


@dataclass(frozen=True)
class RestoreResult:
    layers: tuple[RestoredLayer, ...]
    seals: tuple[LayerSeal, ...]


@dataclass(frozen=True)
class _Pending:
    record: LayerRecord
    source: str  # "image" or "cache"


@dataclass(frozen=True)
class _Sources:
    previous: ImageStore | None
    cache: CacheStore | None
    image_records: Records
    cache_records: Records
    sealed_at: int | None
    borrow: Borrow | None
    log: Callable[[str], None]
    copy_shared: bool = False


def restore(
    group: Sequence[BuildpackDescriptor],
    *,
    layers_dir: Path,
    previous: ImageStore | None,
    cache: CacheStore | None,
    log: Callable[[str], None],
    borrow: Borrow | None = None,
    copy_shared: bool = False,
) -> RestoreResult:
    """Restore into `layers_dir`. With `borrow`, a cached launch layer whose copy in `previous`
    is exactly the cache's tree is moved from there through `borrow` rather than linked. With
    `copy_shared` (a running app uses `previous`, see `snapshot.py`), the layers whose files
    `previous` shares are copied, not linked, so that no write of this build can reach it."""
    cache_records = cache.read() if cache is not None else Records()
    sealed_at = cache.sealed_at() if cache is not None else None
    if cache_records.buildpacks and sealed_at is None:
        log("Cache was never sealed (an interrupted build?); not restoring from it")
        cache_records = Records()
    sources = _Sources(
        previous=previous,
        cache=cache,
        image_records=previous.read() if previous is not None and previous.exists() else Records(),
        cache_records=cache_records,
        sealed_at=sealed_at,
        borrow=borrow,
        log=log,
        copy_shared=copy_shared,
    )
    restored: list[RestoredLayer] = []
    seals: list[LayerSeal] = []
    for descriptor in group:
        bp_dir = layers_dir / descriptor.directory_name
        image_bp = sources.image_records.buildpack(descriptor.id)
        if image_bp is not None and image_bp.store is not None:
            write_toml(bp_dir / "store.toml", {"metadata": dict(image_bp.store)})
        for name, item in sorted(_metadata_to_restore(descriptor.id, sources).items()):
            outcome = _restore_layer(descriptor.id, bp_dir, name, item, sources)
            if outcome is not None:
                restored.append(outcome[0])
                seals.extend(outcome[1])
    return RestoreResult(tuple(restored), tuple(seals))


def _metadata_to_restore(buildpack_id: str, sources: _Sources) -> dict[str, _Pending]:
    """Which `<layer>.toml` files come back, and from where [L metadata_restorer.go]."""
    image_bp = sources.image_records.buildpack(buildpack_id)
    cache_bp = sources.cache_records.buildpack(buildpack_id)
    pending: dict[str, _Pending] = {}
    for record in image_bp.layers if image_bp is not None else ():
        types = record.types
        if not types.launch or (types.build and not types.cache):
            continue  # launch=false, or build=true cache=false: always rebuilt (rule 32)
        if types.cache:
            cached = cache_bp.layer(record.name) if cache_bp is not None else None
            if cached is None or not cached.types.cache:
                continue  # cache+launch needs the cache too (table 4.5)
        pending[record.name] = _Pending(record, "image")
    for record in cache_bp.layers if cache_bp is not None else ():
        if record.types.cache and not record.types.launch:
            pending[record.name] = _Pending(record, "cache")
    return pending


def _restore_layer(
    buildpack_id: str, bp_dir: Path, name: str, item: _Pending, sources: _Sources
) -> tuple[RestoredLayer, list[LayerSeal]] | None:
    identifier = f"{buildpack_id}:{name}"
    cache_bp = sources.cache_records.buildpack(buildpack_id)
    cached = cache_bp.layer(name) if cache_bp is not None else None
    seals = []
    if sources.cache is not None and cached is not None and cached.types.cache:
        if cached.generation != item.record.generation:
            # Rule 39: not the layer the image holds; neither metadata nor contents.
            sources.log(f"Removing {identifier!r}, the cache holds another version of it")
            return None
        lent = (
            _borrow_contents(sources, buildpack_id, name, bp_dir)
            if item.source == "image"
            else None
        )
        seal = lent or _link_contents(
            sources.cache,
            buildpack_id,
            name,
            bp_dir,
            sources.sealed_at,
            shared=item.source == "image",
            copy=item.source == "image" and sources.copy_shared,
        )
        if isinstance(seal, str):
            sources.log(
                f"Discarding cached {identifier!r}: {seal} after it was cached; the buildpack "
                "builds it again"
            )
            return None
        seals.append(seal)
    _write_metadata(bp_dir, item.record)
    _restore_sboms(bp_dir, name, buildpack_id, item.source, sources)
    origin = "app image" if item.source == "image" else "cache"
    suffix = " and its contents from cache" if seals else ""
    sources.log(f"Restoring metadata for {identifier!r} from {origin}{suffix}")
    borrowed = any(seal.borrowed for seal in seals)
    return RestoredLayer(buildpack_id, name, item.source, bool(seals), borrowed), seals


def _write_metadata(bp_dir: Path, record: LayerRecord) -> None:
    # Rule 33: never [types]; the buildpack must declare them again this build.
    write_toml(bp_dir / f"{record.name}.toml", {"metadata": dict(record.metadata)})


def _borrow_contents(
    sources: _Sources, buildpack_id: str, layer: str, bp_dir: Path
) -> LayerSeal | None:
    """Move the previous image's copy of the layer into the build if it is exactly the cache's
    tree; None (nothing done) otherwise."""
    if sources.borrow is None or sources.previous is None or sources.cache is None:
        return None
    if sources.sealed_at is None:
        return None
    parked = sources.previous.layer_dir(buildpack_id, layer)
    cached = sources.cache.layer_dir(buildpack_id, layer)
    comparison = compare_trees(parked, cached)
    if comparison is None or not comparison.identical_since(sources.sealed_at):
        return None
    bp_dir.mkdir(parents=True, exist_ok=True)
    sources.borrow(buildpack_id, layer, parked, bp_dir / layer, cached)
    return LayerSeal.from_linked(
        buildpack_id, layer, cached, shared_with_image=True, linked=comparison.files, borrowed=True
    )


def _link_contents(
    cache: CacheStore,
    buildpack_id: str,
    layer: str,
    bp_dir: Path,
    sealed_at: int | None,
    *,
    shared: bool,
    copy: bool = False,
) -> LayerSeal | str:
    """The seal of the linked layer, or why the cache's copy cannot be trusted (then the layer
    is dropped from the cache)."""
    source = cache.layer_dir(buildpack_id, layer)
    destination = bp_dir / layer
    bp_dir.mkdir(parents=True, exist_ok=True)
    try:
        linked = link_tree(source, destination, trusted_until_ns=sealed_at, copy=copy)
    except TamperedFile as tampered:
        # A file's ctime means it was written, a directory's that an entry was added,
        # deleted or renamed: either way, not the tree the cache recorded.
        where = tampered.relative or "its top directory"
        reason = f"{where} changed"
    except FileNotFoundError:
        reason = "its files went missing"
    else:
        # A copy shares nothing with the image: its seal only has to cover the cache.
        return LayerSeal.from_linked(
            buildpack_id, layer, source, shared_with_image=shared and not copy, linked=linked
        )
    remove(destination)
    cache.drop(buildpack_id, layer)
    return reason


def _restore_sboms(
    bp_dir: Path, layer: str, buildpack_id: str, source: str, sources: _Sources
) -> None:
    if source == "image" and sources.previous is not None:
        directory = sources.previous.launch_sbom_dir(buildpack_id, layer)
    elif sources.cache is not None:
        directory = sources.cache.sbom_dir(buildpack_id, layer)
    else:
        return
    for sbom in sbom_files(directory):
        shutil.copyfile(sbom, bp_dir / f"{layer}.{sbom.name}")

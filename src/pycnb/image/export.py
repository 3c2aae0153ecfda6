"""`pycnb build APP --image REF`: the built app as an OCI image on a run image, no engine.

The image holds what the lifecycle's exporter puts in one (`phase/exporter.go`), in its order:
the run image's layers; one layer per launch layer of each buildpack (sorted by
`<buildpack>:<layer>`); the launch SBOMs, if any; the app; the launcher; the launcher config
(`/layers/config`, `/cnb/process/<type>`). Layers are reproducible (`tarlayer.py`) and the
build's root is mapped to `/layers` and `/workspace` (`relocate.py`), so the same app and inputs
give the same digests from any root, on any machine. An unchanged layer keeps its digest, is
not compressed again (the blob store knows its tarball), and a registry that has it gets a HEAD,
not an upload.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath

from pycnb.cnb.names import BuildpackId
from pycnb.cnb.toml import read_toml
from pycnb.image.blobs import Blob, BlobStore
from pycnb.image.config import ImageLayer, LayerRole, created_time, image_config
from pycnb.image.docker_archive import ArchiveLayer, write_docker_archive
from pycnb.image.errors import NotBuilt
from pycnb.image.launcher import (
    CONFIG_SCRIPT_PATH,
    LAUNCHER_PATH,
    LAUNCHER_SCRIPT,
    LaunchLayer,
    launch_config_script,
)
from pycnb.image.layout import write_layout
from pycnb.image.oci import CONFIG, LAYER_GZIP, MANIFEST, Descriptor, canonical_json
from pycnb.image.reference import ArchiveRef, ImageRef, LayoutRef, RegistryRef
from pycnb.image.registry import Registry
from pycnb.image.relocate import Relocation
from pycnb.image.run_image import RunImage, image_owner
from pycnb.image.slices import slice_files
from pycnb.image.tarlayer import ROOT, Dir, Entry, File, Owner, Symlink, Tree, layer_blob
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.lock import root_lock
from pycnb.platform.processes import LaunchMetadata, read_launch_metadata
from pycnb.platform.stores import ImageStore, Records

__all__ = ["IMAGE_APP_DIR", "IMAGE_LAYERS_DIR", "ImageResult", "export_image"]

IMAGE_LAYERS_DIR = PurePosixPath("/layers")
IMAGE_APP_DIR = PurePosixPath("/workspace")


@dataclass(frozen=True)
class ImageResult:
    reference: str
    manifest_digest: str
    layers: tuple[tuple[str, str, int], ...]  # (what, digest, size) of the app's own layers
    compressed: tuple[str, ...]  # the layers that were new (compressed this time)
    pushed_bytes: int | None  # registry pushes only: bytes uploaded, blobs and manifest
    seconds: float


def _relocation(dirs: PlatformDirs) -> Relocation:
    pairs = []
    for host, image in ((dirs.layers, IMAGE_LAYERS_DIR), (dirs.workspace, IMAGE_APP_DIR)):
        pairs.append((str(host), str(image)))
        pairs.append((str(host.resolve()), str(image)))  # a root reached through a symlink
    return Relocation.of(pairs)


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def export_image(
    dirs: PlatformDirs,
    target: ImageRef,
    run: RunImage,
    store: BlobStore,
    *,
    log: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> ImageResult:
    # Shared: a build of the same root must not change the layers while they are read.
    with root_lock(dirs, exclusive=False):
        return _export(dirs, target, run, store, log=log, env=env)


def _export(
    dirs: PlatformDirs,
    target: ImageRef,
    run: RunImage,
    store: BlobStore,
    *,
    log: Callable[[str], None],
    env: Mapping[str, str] | None,
) -> ImageResult:
    start = time.monotonic()
    env = os.environ if env is None else env
    image = ImageStore(dirs.image, dirs.layers)
    if not image.exists():
        raise NotBuilt(dirs.root)
    records = image.read()
    launch = read_launch_metadata(image.launch_metadata_path)
    owner = image_owner(run, store)
    relocation = _relocation(dirs)
    log(f"Run image: {run.reference} ({run.manifest_digest[:19]}), user {run.user or 'root'}")

    plan = _plan(dirs, records, launch, owner, relocation)

    layers: list[ImageLayer] = []
    descriptors: list[Descriptor] = []
    compressed: list[str] = []
    unrelocated: list[str] = []
    for role, entries in plan:
        done = layer_blob(
            store, entries, relocation, on_compress=partial(compressed.append, role.describe())
        )
        fresh = role.describe() in compressed
        unrelocated.extend(done.unrelocated)
        layers.append(ImageLayer(role, done.diff_id))
        descriptors.append(Descriptor(LAYER_GZIP, done.blob.digest, done.blob.size))
        state = "new" if fresh else "unchanged"
        log(f"Layer {role.describe()}: {done.blob.digest[:19]} ({_mib(done.blob.size)}, {state})")
    for unmapped in unrelocated[:10]:
        log(f"Warning: {unmapped} embeds the build's root path and may not work in the image")

    config = image_config(
        run,
        layers,
        records,
        launch,
        created=created_time(env.get("SOURCE_DATE_EPOCH")),
        layers_dir=str(IMAGE_LAYERS_DIR),
        app_dir=str(IMAGE_APP_DIR),
    )
    config_blob = store.put_bytes(config)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": Descriptor(CONFIG, config_blob.digest, config_blob.size).to_json(),
            "layers": [d.to_json() for d in (*run.layers, *descriptors)],
        }
    )
    manifest_blob = store.put_bytes(manifest)
    pushed = _write(
        target,
        _Written(run, descriptors, layers, config, config_blob, manifest),
        store,
        log,
    )
    own = tuple(
        (layer.role.describe(), d.digest, d.size)
        for layer, d in zip(layers, descriptors, strict=True)
    )
    seconds = time.monotonic() - start
    log(f"Image {target}: {manifest_blob.digest} (exported in {seconds:.2f}s)")
    return ImageResult(str(target), manifest_blob.digest, own, tuple(compressed), pushed, seconds)


@dataclass(frozen=True)
class _Written:
    run: RunImage
    descriptors: list[Descriptor]
    layers: list[ImageLayer]
    config: bytes
    config_blob: Blob
    manifest: bytes


def _write(
    target: ImageRef, image: _Written, store: BlobStore, log: Callable[[str], None]
) -> int | None:
    run, layers, config, config_blob, manifest = (
        image.run,
        image.layers,
        image.config,
        image.config_blob,
        image.manifest,
    )
    all_layers = [*run.layers, *image.descriptors]
    match target:
        case LayoutRef(path=path, tag=tag):
            blobs = [(d.digest, store.path(d.digest)) for d in all_layers]
            blobs.append((config_blob.digest, store.path(config_blob.digest)))
            write_layout(path, tag, manifest, blobs)
            return None
        case ArchiveRef(path=path, name=name):
            archive_layers = [
                ArchiveLayer(diff_id, store.path(d.digest), d.media_type == LAYER_GZIP)
                for diff_id, d in zip(
                    [*run.diff_ids, *(layer.diff_id for layer in layers)], all_layers, strict=True
                )
            ]
            write_docker_archive(path, config, config_blob.digest, archive_layers, name)
            return None
        case RegistryRef():
            registry = Registry.for_ref(target, push=True)
            for descriptor in [
                *all_layers,
                Descriptor(CONFIG, config_blob.digest, config_blob.size),
            ]:
                if registry.push_blob(descriptor.digest, store.path(descriptor.digest)):
                    log(f"Pushed {descriptor.digest[:19]} ({_mib(descriptor.size)})")
            registry.put_manifest(target.reference, manifest, MANIFEST)
            log(f"Pushed {registry.pushed_bytes} bytes to {target.registry}")
            return registry.pushed_bytes


def _plan(
    dirs: PlatformDirs,
    records: Records,
    launch: LaunchMetadata,
    owner: Owner,
    relocation: Relocation,
) -> list[tuple[LayerRole, list[Entry]]]:
    """Each layer of the app's part of the image, in order, with what goes into it."""
    plan: list[tuple[LayerRole, list[Entry]]] = []
    launch_layers: list[LaunchLayer] = []
    for bp in records.buildpacks:
        bp_dir = BuildpackId(bp.id).directory_name
        for record in bp.layers:
            host = dirs.layers / bp_dir / record.name
            if not record.types.launch or not host.is_dir():
                continue
            path = IMAGE_LAYERS_DIR / bp_dir / record.name
            launch_layers.append(LaunchLayer(bp.id, host, path))
            plan.append((LayerRole("buildpack", bp.id, record.name), [Tree(host, path, owner)]))
    plan.sort(key=lambda item: f"{item[0].buildpack_id}:{item[0].name}")
    sbom = dirs.layers / "sbom" / "launch"
    if sbom.is_dir():
        plan.append((LayerRole("sbom"), [Tree(sbom, IMAGE_LAYERS_DIR / "sbom" / "launch", owner)]))
    sliced = slice_files(dirs.workspace, _slices(dirs))
    for number, files in enumerate(sliced, start=1):
        only = Tree(dirs.workspace, IMAGE_APP_DIR, owner, only=files)
        plan.append((LayerRole("app", name=f"slice {number}"), [only]))
    rest = frozenset().union(*sliced)
    plan.append((LayerRole("app"), [Tree(dirs.workspace, IMAGE_APP_DIR, owner, exclude=rest)]))
    plan.append(
        (
            LayerRole("launcher"),
            [File(LAUNCHER_PATH, LAUNCHER_SCRIPT.encode(), ROOT, 0o755)],
        )
    )
    launch_toml = dirs.layers / "config" / "metadata.toml"
    metadata, _ = relocation.contents("metadata.toml", launch_toml.read_bytes())
    ordered = sorted(
        launch_layers,
        key=lambda layer: (
            [bp.id for bp in records.buildpacks].index(layer.buildpack_id),
            os.fsencode(layer.image.name),
        ),
    )
    script = launch_config_script(
        ordered,
        sorted(launch.processes.values(), key=lambda p: p.type),
        launch.default_type,
        relocation,
        IMAGE_APP_DIR,
    )
    config_entries: list[Entry] = [
        Dir(IMAGE_LAYERS_DIR / "config", owner),
        File(IMAGE_LAYERS_DIR / "config" / "metadata.toml", metadata, owner),
        File(CONFIG_SCRIPT_PATH, script, owner),
        Dir(PurePosixPath("/cnb/process"), ROOT),
        *(
            Symlink(PurePosixPath("/cnb/process") / t, str(LAUNCHER_PATH))
            for t in sorted(launch.processes)
        ),
    ]
    plan.append((LayerRole("config"), config_entries))

    return plan


def _slices(dirs: PlatformDirs) -> list[list[str]]:
    data = read_toml(dirs.layers / "config" / "metadata.toml")
    return [[str(p) for p in table.get("paths", [])] for table in data.get("slices", [])]

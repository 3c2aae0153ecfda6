"""The run image: the base the app's layers go on, read from a registry or an OCI layout.

Every blob it has ends up in the local blob store (downloaded once, kept by digest), so an
export to a layout or a docker-archive, or a push to another registry, has all it needs.
A multi-platform image gives the manifest of this machine's OS and architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pycnb.image.blobs import BlobStore, sha256_digest
from pycnb.image.errors import ImageError, InvalidRunImage, RunImageUnreachable
from pycnb.image.layout import blob_path, read_blob, read_index_entry
from pycnb.image.oci import INDEXES, MANIFEST_ACCEPT, Descriptor, oci_layer_type
from pycnb.image.reference import LayoutRef, RegistryRef
from pycnb.image.registry import Registry
from pycnb.image.tarlayer import Owner

__all__ = ["RunImage", "load_run_image"]


@dataclass(frozen=True)
class RunImage:
    reference: str
    manifest_digest: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]  # OCI media types
    diff_ids: tuple[str, ...]
    source: RegistryRef | None  # where its blobs can be mounted from, if a registry

    @property
    def user(self) -> str:
        return str((self.config.get("config") or {}).get("User") or "")

    @property
    def env(self) -> list[str]:
        return [str(e) for e in (self.config.get("config") or {}).get("Env") or []]


def load_run_image(
    reference: RegistryRef | LayoutRef, store: BlobStore, *, os_name: str, arch: str
) -> RunImage:
    shown = str(reference)
    try:
        if isinstance(reference, LayoutRef):
            manifest, digest = _from_layout(reference, store, os_name, arch)
            source = None
        else:
            manifest, digest = _from_registry(reference, store, os_name, arch)
            source = reference
    except RunImageUnreachable:
        raise
    except ImageError as error:
        raise RunImageUnreachable(shown, str(error)) from None
    config_digest = str(manifest["config"]["digest"])
    config = json.loads(store.path(config_digest).read_bytes())
    layers = []
    for layer in manifest.get("layers") or []:
        media_type = oci_layer_type(str(layer.get("mediaType")))
        if media_type is None:
            raise InvalidRunImage(shown, f"a layer of media type {layer.get('mediaType')!r}")
        layers.append(Descriptor(media_type, str(layer["digest"]), int(layer["size"])))
    diff_ids = tuple(str(d) for d in (config.get("rootfs") or {}).get("diff_ids") or [])
    if len(diff_ids) != len(layers):
        raise InvalidRunImage(shown, "its config and manifest list different numbers of layers")
    return RunImage(shown, digest, config, tuple(layers), diff_ids, source)


def _pick(index: dict[str, Any], os_name: str, arch: str, shown: str) -> dict[str, Any]:
    for entry in index.get("manifests") or []:
        platform = entry.get("platform") or {}
        if platform.get("os") == os_name and platform.get("architecture") == arch:
            return dict(entry)
    raise InvalidRunImage(shown, f"it has no image for {os_name}/{arch}")


def _from_layout(
    ref: LayoutRef, store: BlobStore, os_name: str, arch: str
) -> tuple[dict[str, Any], str]:
    entry = read_index_entry(ref.path, ref.tag)
    data = read_blob(ref.path, str(entry["digest"]))
    document = json.loads(data)
    if document.get("mediaType") in INDEXES or "manifests" in document:
        entry = _pick(document, os_name, arch, str(ref))
        data = read_blob(ref.path, str(entry["digest"]))
        document = json.loads(data)
    blobs = [document["config"], *(document.get("layers") or [])]
    for blob in blobs:
        digest = str(blob["digest"])
        if not store.has(digest):
            with blob_path(ref.path, digest).open("rb") as source, store.writer() as (out, _):
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            if not store.has(digest):
                raise InvalidRunImage(str(ref), f"the blob {digest} does not match its digest")
    return document, sha256_digest(data)


def _from_registry(
    ref: RegistryRef, store: BlobStore, os_name: str, arch: str
) -> tuple[dict[str, Any], str]:
    registry = Registry.for_ref(ref)
    data, media_type = registry.get_manifest(ref.reference, MANIFEST_ACCEPT)
    document = json.loads(data)
    if media_type in INDEXES or "manifests" in document:
        entry = _pick(document, os_name, arch, str(ref))
        data, media_type = registry.get_manifest(str(entry["digest"]), MANIFEST_ACCEPT)
        document = json.loads(data)
    for blob in [document["config"], *(document.get("layers") or [])]:
        registry.fetch_blob(str(blob["digest"]), store)
    return document, sha256_digest(data)


def image_owner(run: RunImage, store: BlobStore) -> Owner:
    """The uid/gid the run image runs as, from its config's `User` (numbers, or names looked
    up in the image's /etc/passwd and /etc/group)."""
    user, _, group = run.user.partition(":")
    if not user:
        return Owner(0, 0)
    passwd = _etc_file(run, store, "etc/passwd")
    uid = _number(user, passwd, 2)
    if uid is None:
        raise InvalidRunImage(run.reference, f"its user {user!r} is not in its /etc/passwd")
    if group:
        gid = _number(group, _etc_file(run, store, "etc/group"), 2)
        if gid is None:
            raise InvalidRunImage(run.reference, f"its group {group!r} is not in its /etc/group")
    else:
        primary = _number(user, passwd, 3)
        gid = primary if primary is not None else 0
    return Owner(uid, gid)


def _number(name: str, table: str, column: int) -> int | None:
    if name.isdigit():
        if column == 3:  # noqa: PLR2004 - the primary group of a numeric user
            for line in table.splitlines():
                fields = line.split(":")
                if len(fields) > 3 and fields[2] == name and fields[3].isdigit():  # noqa: PLR2004
                    return int(fields[3])
            return None
        return int(name)
    for line in table.splitlines():
        fields = line.split(":")
        if len(fields) > column and fields[0] == name and fields[column].isdigit():
            return int(fields[column])
    return None


def _etc_file(run: RunImage, store: BlobStore, name: str) -> str:
    import gzip  # noqa: PLC0415 - only named users need the layers read
    import tarfile  # noqa: PLC0415

    for layer in reversed(run.layers):  # the topmost layer that has the file wins
        path: Path = store.path(layer.digest)
        opener = gzip.open if layer.media_type.endswith("gzip") else open
        with opener(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for member in tar:
                if str(PurePosixPath("/", member.name)).lstrip("/") == name and member.isreg():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read().decode(errors="replace")
    return ""

"""OCI image layouts (the image spec's `image-layout.md`): read an image from one, write one.

DIR/oci-layout        {"imageLayoutVersion": "1.0.0"}
DIR/index.json        an image index; each tag is an `org.opencontainers.image.ref.name`
DIR/blobs/sha256/...  every blob, named by its digest
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pycnb.image.blobs import sha256_digest
from pycnb.image.errors import LayoutError
from pycnb.image.oci import INDEX, MANIFEST, canonical_json

__all__ = ["blob_path", "read_index_entry", "write_layout"]

REF_NAME = "org.opencontainers.image.ref.name"


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hex_digest = digest.partition(":")
    return layout / "blobs" / algorithm / hex_digest


def _index(layout: Path) -> dict[str, Any]:
    if not (layout / "oci-layout").is_file():
        raise LayoutError(layout, "not an OCI image layout (no oci-layout file)")
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LayoutError(layout / "index.json", f"unreadable ({error})") from None
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise LayoutError(layout / "index.json", "not an image index")
    return index


def read_index_entry(layout: Path, tag: str) -> dict[str, Any]:
    """The descriptor tagged `tag`; a layout with a single untagged image also answers."""
    manifests = [m for m in _index(layout)["manifests"] if isinstance(m, dict)]
    tagged = [m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) == tag]
    if tagged:
        return tagged[-1]
    if len(manifests) == 1 and REF_NAME not in (manifests[0].get("annotations") or {}):
        return manifests[0]
    tags = sorted({str((m.get("annotations") or {}).get(REF_NAME)) for m in manifests})
    raise LayoutError(layout, f"no image tagged {tag!r} (tags: {', '.join(tags) or 'none'})")


def read_blob(layout: Path, digest: str) -> bytes:
    path = blob_path(layout, digest)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LayoutError(path, f"missing blob ({error.strerror})") from None
    if sha256_digest(data) != digest:
        raise LayoutError(path, "the blob does not match its digest")
    return data


def write_layout(layout: Path, tag: str, manifest: bytes, blobs: Sequence[tuple[str, Path]]) -> str:
    """Add the image (its manifest and `blobs`, (digest, file) pairs) tagged `tag`, replacing
    an image of that tag; other images in the layout stay. Returns the manifest digest."""
    if layout.exists() and not layout.is_dir():
        raise LayoutError(layout, "exists and is not a directory")
    if layout.is_dir() and any(layout.iterdir()) and not (layout / "oci-layout").is_file():
        raise LayoutError(layout, "exists, is not empty and is not an OCI layout; choose another")
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    _write(layout / "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
    for digest, source in blobs:
        target = blob_path(layout, digest)
        if not target.is_file():
            _copy(source, target)
    digest = sha256_digest(manifest)
    target = blob_path(layout, digest)
    if not target.is_file():
        _write(target, manifest)
    try:
        entries = [
            m
            for m in _index(layout)["manifests"]
            if (m.get("annotations") or {}).get(REF_NAME) != tag
        ]
    except LayoutError:
        entries = []  # a fresh layout
    entries.append(
        {
            "mediaType": MANIFEST,
            "digest": digest,
            "size": len(manifest),
            "annotations": {REF_NAME: tag},
        }
    )
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    _write(layout / "index.json", canonical_json(index))
    return digest


def _copy(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        os.link(source, tmp)  # the blob store and the layout are often on one file system
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)

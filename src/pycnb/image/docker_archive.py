"""docker-archive tarballs: what `docker save` writes and `docker load` / `podman load` read.

    manifest.json                   [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
    <config hex>.json               the image config
    <diff_id hex>/layer.tar         each layer, uncompressed (so its name is its diff_id)

Entries get the constant mtime and no owner, so the same image gives the same file.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.image.tarlayer import NORMALIZED_MTIME, gunzip_to

__all__ = ["ArchiveLayer", "write_docker_archive"]


@dataclass(frozen=True)
class ArchiveLayer:
    diff_id: str
    blob: Path  # the layer's blob
    compressed: bool


def _info(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = NORMALIZED_MTIME
    return info


def write_docker_archive(
    path: Path, config: bytes, config_digest: str, layers: Sequence[ArchiveLayer], name: str | None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            config_name = f"{config_digest.partition(':')[2]}.json"
            tar.addfile(_info(config_name, len(config)), io.BytesIO(config))
            names: list[str] = []
            for layer in layers:
                directory = layer.diff_id.partition(":")[2]
                if directory in {n.split("/")[0] for n in names}:
                    names.append(f"{directory}/layer.tar")  # the same layer twice: stored once
                    continue
                tar.addfile(_info(directory, 0, tarfile.DIRTYPE))
                with tempfile.TemporaryFile(dir=path.parent) as plain:
                    if layer.compressed:
                        gunzip_to(layer.blob, plain)
                    else:
                        with layer.blob.open("rb") as source:
                            while chunk := source.read(1 << 20):
                                plain.write(chunk)
                    size = plain.tell()
                    plain.seek(0)
                    tar.addfile(_info(f"{directory}/layer.tar", size), plain)
                names.append(f"{directory}/layer.tar")
            manifest = [
                {"Config": config_name, "RepoTags": [name] if name else [], "Layers": names}
            ]
            data = json.dumps(manifest, separators=(",", ":")).encode()
            tar.addfile(_info("manifest.json", len(data)), io.BytesIO(data))
        tmp.chmod(0o644)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)

"""OCI media types, descriptors, and canonical JSON for manifests and configs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONFIG",
    "INDEX",
    "LAYER_GZIP",
    "LAYER_TAR",
    "MANIFEST",
    "MANIFEST_ACCEPT",
    "Descriptor",
    "canonical_json",
    "oci_layer_type",
]

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_DOCKER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_ACCEPT = (MANIFEST, INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEXES = frozenset({INDEX, DOCKER_LIST})


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def oci_layer_type(media_type: str) -> str | None:
    """The OCI type of a run image layer (the same bytes), or None when we cannot use it."""
    if media_type in (LAYER_GZIP, _DOCKER_LAYER_GZIP, _DOCKER_FOREIGN_GZIP):
        return LAYER_GZIP
    if media_type == LAYER_TAR:
        return LAYER_TAR
    return None


def canonical_json(value: object) -> bytes:
    """Sorted keys, no spaces: the same object always gives the same bytes (and digest)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

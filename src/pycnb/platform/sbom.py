"""SBOM files a buildpack writes next to its layers: `<layer>.sbom.<ext>`, `launch.sbom.<ext>`,
`build.sbom.<ext>` (section 7).

Validation copies the lifecycle (`buildpack/bomfile.go`): a file whose extension is not one of
the three formats fails the build, and so does one whose media type the buildpack did not list
in `sbom-formats` (rule 51). Which layer a file belongs to is the text before its first `.`, as
the lifecycle reads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pycnb.platform.buildpack_descriptor import SBOM_MEDIA_TYPES
from pycnb.platform.errors import InvalidSbom

__all__ = ["SbomFile", "scan_sboms"]


@dataclass(frozen=True)
class SbomFile:
    path: Path
    owner: str  # "launch", "build", or the layer name
    ext: str  # "cdx.json", "spdx.json" or "syft.json"

    @property
    def target_name(self) -> str:
        """The file's name once placed in an SBOM directory."""
        return f"sbom.{self.ext}"


def scan_sboms(bp_layers_dir: Path, buildpack_id: str, declared: frozenset[str]) -> list[SbomFile]:
    if not bp_layers_dir.is_dir():
        return []
    found = []
    for path in sorted(bp_layers_dir.iterdir(), key=lambda p: os.fsencode(p.name)):
        if ".sbom." not in path.name or path.is_dir():
            continue
        media_type = next(
            (m for m, ext in SBOM_MEDIA_TYPES.items() if path.name.endswith(f".sbom.{ext}")), None
        )
        if media_type is None:
            extensions = ", ".join(SBOM_MEDIA_TYPES.values())
            raise InvalidSbom(buildpack_id, path, f"unsupported SBOM format (use {extensions})")
        if media_type not in declared:
            raise InvalidSbom(
                buildpack_id,
                path,
                f"undeclared SBOM media type {media_type!r}: add it to sbom-formats",
            )
        found.append(SbomFile(path, path.name.split(".", 1)[0], SBOM_MEDIA_TYPES[media_type]))
    return found

"""Writing a layer's SBOM file: `<layers>/<bp>/<layer>.sbom.<ext>` (spec: Software Bill of
Materials). The platform moves it into the image beside the layer, as the lifecycle does.

The media type must be listed in `sbom-formats` of buildpack.toml. The bytes are deterministic
(sorted keys, no timestamps), so an unchanged layer keeps an unchanged SBOM and image digest.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pycnb.cnb.names import LayerName

__all__ = ["CYCLONEDX_JSON", "write_layer_sbom"]

CYCLONEDX_JSON = "cdx.json"  # application/vnd.cyclonedx+json


def write_layer_sbom(
    bp_layers_dir: Path, layer: LayerName, document: Mapping[str, Any], ext: str = CYCLONEDX_JSON
) -> Path:
    path = bp_layers_dir / f"{layer}.sbom.{ext}"
    data = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # Written whole or not at all: a build killed mid-write leaves the previous file. The
    # temporary name never looks like `*.sbom.*`, which the platform would take for an SBOM.
    fd, temporary = tempfile.mkstemp(dir=bp_layers_dir, prefix=f".{layer}-sbom-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(data)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path

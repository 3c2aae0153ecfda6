"""The pip cache layer: pip's HTTP and wheel caches (`PIP_CACHE_DIR`), kept between builds.

Build-only, like the uv and Poetry caches, and reset by the same rule (see download_cache.py).
It pays off whenever the venv is rebuilt: pip then installs from local copies.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.download_cache import prepare_download_cache
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "prepare_pip_cache"]

LAYER_NAME = LayerName("pip-cache")


def prepare_pip_cache(ctx: BuildContext, out: Output) -> Path:
    return prepare_download_cache(ctx, out, LAYER_NAME, "pip")

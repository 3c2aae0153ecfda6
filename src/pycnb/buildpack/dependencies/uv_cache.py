"""The uv cache layer: uv's cache (`UV_CACHE_DIR`), kept between builds, build-only.

uv's default cache is under `$HOME`, which a CNB build discards (and which is usually another
mount than `/layers`). In a layer it sits beside the venv, and survives to the next build. uv is
told to copy from it rather than hardlink (see `UvSync.install`): the venv is a launch layer that
others may edit, and the cache must stay exactly what uv wrote.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.download_cache import prepare_download_cache
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "prepare_uv_cache"]

LAYER_NAME = LayerName("uv-cache")


def prepare_uv_cache(ctx: BuildContext, out: Output) -> Path:
    return prepare_download_cache(ctx, out, LAYER_NAME, "uv")

"""The Poetry cache layer: Poetry's cache (`POETRY_CACHE_DIR`), kept between builds, build-only.

Poetry's default cache is under `$HOME`, which a CNB build discards; a cached layer keeps its
downloaded artifacts and index pages, so a venv rebuilt from empty (a new Python, a switch of
package manager) installs from local copies. The reference buildpack lets it go with the build;
pycnb keeps it for the same reason it keeps pip's and uv's caches.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.download_cache import prepare_download_cache
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "prepare_poetry_cache"]

LAYER_NAME = LayerName("poetry-cache")


def prepare_poetry_cache(ctx: BuildContext, out: Output) -> Path:
    return prepare_download_cache(ctx, out, LAYER_NAME, "Poetry")

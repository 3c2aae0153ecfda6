"""The installers' download caches: a layer each, kept across builds or scratch.

Each tool's cache (downloads, unpacked wheels, wheels built from source) lives in a layer of its
own, `build = false, launch = false`: no later buildpack and no image sees it.

- pip, Poetry, Pipenv and PDM copy installed files out of their caches, so theirs are kept
  (`cache = true`, invalidated by the target). The venv is cached too, so most rebuilds never
  touch these caches; they pay off when the venv must start empty (a new Python, a switch of
  package manager), which then costs a local copy instead of a full download.
- uv hardlinks installed files from its cache, which is what makes it fast: no file is written
  twice. A kept cache would then share its inodes with the venv, and anything that edits an
  installed file in place (a later buildpack, the app at run time) would corrupt the cache later
  builds install from. So uv's cache is scratch (`cache = false`): a layer beside the venv, on
  the same file system so that links work, gone after the build. The cached venv is what a
  rebuild reuses; only a venv that must start empty downloads everything again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import CachedLayer, Empty, Rejected, RestoredLayerAction
from pycnb.cnb.names import LayerName

__all__ = ["DownloadCacheMetadata", "prepare_download_cache", "scratch_download_cache"]


@dataclass(frozen=True)
class DownloadCacheMetadata:
    # Wheels built from source are tagged `linux_<arch>` whatever they link against, so a distro
    # upgrade could hand back a wheel built against libraries that no longer exist.
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


def prepare_download_cache(ctx: BuildContext, out: Output, name: LayerName, tool: str) -> Path:
    """Open (or reset) the cache layer `name` of `tool`; returns its directory."""
    new = DownloadCacheMetadata(
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    def restored_layer_action(
        old: DownloadCacheMetadata, _path: Path
    ) -> tuple[RestoredLayerAction, list[str]]:
        reasons = changed_inputs(old, new, _LABELS)
        return (RestoredLayerAction.DELETE if reasons else RestoredLayerAction.KEEP), reasons

    layer = ctx.cached_layer(
        name,
        CachedLayer(
            build=False,
            launch=False,
            metadata_type=DownloadCacheMetadata,
            restored_layer_action=restored_layer_action,
        ),
    )
    if isinstance(layer.state, Empty) and isinstance(layer.state.cause, Rejected):
        out.reasons(f"Discarding {tool}'s download cache since:", layer.state.cause.cause)
    layer.write_metadata(new)
    return layer.path


def scratch_download_cache(ctx: BuildContext, name: LayerName) -> Path:
    """An empty directory `<layers>/<name>` that this build alone uses: with no `<name>.toml`,
    it is neither exported nor cached. A kept cache of that name (from an older pycnb) is
    dropped."""
    return ctx.uncached_layer(name, build=False, launch=False).path

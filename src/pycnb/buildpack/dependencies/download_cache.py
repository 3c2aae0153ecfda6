"""What the uv and Poetry cache layers share: build-only, cached, invalidated by the target.

Each tool's cache (downloads, unpacked wheels, wheels built from source) lives in a layer of its
own, `build = false, launch = false, cache = true`: no later buildpack and no image sees it, but
the next build gets it back. The venv is cached too, so most rebuilds never touch these caches;
they pay off when the venv must start empty (a new Python, a switch of package manager), which
then costs a local copy instead of a full download, from a private index too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import CachedLayer, Empty, Rejected, RestoredLayerAction
from pycnb.cnb.names import LayerName

__all__ = ["DownloadCacheMetadata", "prepare_download_cache"]


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

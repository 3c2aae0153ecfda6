"""The pip cache layer: pip's HTTP and wheel caches, kept between builds (build-only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import CachedLayer, Empty, Rejected, RestoredLayerAction
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "PipCacheLayerMetadata", "prepare_pip_cache"]

LAYER_NAME = LayerName("pip-cache")


@dataclass(frozen=True)
class PipCacheLayerMetadata:
    # Wheels pip builds from source are tagged `linux_<arch>` whatever they link against, so a
    # distro upgrade could hand back a wheel built against libraries that no longer exist.
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


def prepare_pip_cache(ctx: BuildContext, out: Output) -> Path:
    new = PipCacheLayerMetadata(
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    def restored_layer_action(
        old: PipCacheLayerMetadata, _path: Path
    ) -> tuple[RestoredLayerAction, list[str]]:
        reasons = changed_inputs(old, new, _LABELS)
        return (RestoredLayerAction.DELETE if reasons else RestoredLayerAction.KEEP), reasons

    layer = ctx.cached_layer(
        LAYER_NAME,
        CachedLayer(
            build=False,
            launch=False,
            metadata_type=PipCacheLayerMetadata,
            restored_layer_action=restored_layer_action,
        ),
    )
    if isinstance(layer.state, Empty) and isinstance(layer.state.cause, Rejected):
        out.reasons("Discarding pip's download cache since:", layer.state.cause.cause)
    layer.write_metadata(new)
    return layer.path

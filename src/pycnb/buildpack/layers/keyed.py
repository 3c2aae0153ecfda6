"""Cached layers whose contents follow from their metadata alone: the runtime and the tools.

Python, pip, uv and Poetry layers share one rule: keep the restored layer exactly while every
input in its metadata is unchanged (and it is complete), else start empty. This module applies
the rule and prints the decision, with every reason when a layer is discarded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import (
    CachedLayer,
    Empty,
    InvalidMetadata,
    LayerRef,
    Rejected,
    Restored,
    RestoredLayerAction,
)
from pycnb.cnb.names import LayerName

__all__ = ["open_keyed_layer"]

M = TypeVar("M")


def open_keyed_layer(
    ctx: BuildContext,
    out: Output,
    *,
    name: LayerName,
    what: str,
    version: str,
    metadata: M,
    labels: Mapping[str, str],
    build: bool,
    launch: bool,
    complete: Callable[[Path], bool],
) -> LayerRef[M, list[str]]:
    """Open the layer; it is `Restored` when reusable and `Empty` (to be filled) otherwise.

    `what` and `version` name the contents in the log ("Using cached pip 26.3"); `complete`
    checks a restored layer still holds what it should, in case it was emptied by hand.
    """

    def restored_layer_action(old: M, path: Path) -> tuple[RestoredLayerAction, list[str]]:
        reasons = changed_inputs(old, metadata, labels)
        if not reasons and not complete(path):
            reasons = [f"The cached {what} layer is incomplete"]
        return (RestoredLayerAction.DELETE if reasons else RestoredLayerAction.KEEP), reasons

    layer = ctx.cached_layer(
        name,
        CachedLayer(
            build=build,
            launch=launch,
            metadata_type=type(metadata),
            restored_layer_action=restored_layer_action,
        ),
    )
    match layer.state:
        case Restored():
            out.info(f"Using cached {what} {version}")
        case Empty(cause=Rejected(cause=reasons)):
            out.reasons(f"Discarding cached {what} since:", reasons)
        case Empty(cause=InvalidMetadata()):
            out.info(f"Discarding cached {what}: its layer metadata is from another pycnb version")
        case Empty():
            pass
    return layer

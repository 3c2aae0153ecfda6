"""`store.toml`: small data a buildpack keeps from one build of an app to the next.

Spec notes §3.5: the lifecycle keeps `<layers>/<bp>/store.toml` with the app image's metadata,
not in the layer cache, and restores it before the next build, but only when a previous image
exists (even when layer restoration is skipped). So a missing file is normal, and the data must
only ever make a build *nicer* (say, keep a choice stable), never be needed for it to succeed.

Each part of a buildpack owns one key of the `[metadata]` table, holding a frozen dataclass of
str/int/bool fields, read strictly like layer metadata: an entry that no longer has the expected
shape (an older buildpack wrote it) reads as absent. Writing one entry keeps every other key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pycnb.cnb.layers import metadata_from_table, metadata_to_table
from pycnb.cnb.toml import InvalidToml, read_toml, write_toml

__all__ = ["STORE_FILE", "read_store_entry", "read_store_metadata", "write_store_entry"]

STORE_FILE = "store.toml"

E = TypeVar("E")  # an entry: a frozen dataclass of str, int and bool fields


def read_store_metadata(layers_dir: Path) -> dict[str, Any]:
    """The `[metadata]` table of `<layers_dir>/store.toml`; empty when there is none or it is
    unreadable (the data is only ever a convenience, see the module docstring)."""
    try:
        metadata = read_toml(layers_dir / STORE_FILE).get("metadata", {})
    except (FileNotFoundError, InvalidToml):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def read_store_entry(layers_dir: Path, key: str, entry_type: type[E]) -> E | None:
    """`[metadata.<key>]` as `entry_type`, or None when absent or of another shape."""
    table = read_store_metadata(layers_dir).get(key)
    if not isinstance(table, dict):
        return None
    try:
        return metadata_from_table(entry_type, table)
    except ValueError:
        return None


def write_store_entry(layers_dir: Path, key: str, entry: object | None) -> None:
    """Set `[metadata.<key>]` to `entry` (a dataclass), or remove it when `entry` is None. Other
    keys are kept. The write is atomic."""
    metadata = read_store_metadata(layers_dir)
    if entry is None:
        if key not in metadata and not (layers_dir / STORE_FILE).exists():
            return  # nothing to remove; do not create an empty file
        metadata.pop(key, None)
    else:
        metadata[key] = metadata_to_table(entry)
    write_toml(layers_dir / STORE_FILE, {"metadata": metadata})

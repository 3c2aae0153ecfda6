"""The `settings-key` layer: a random key for digests of the user's installer settings.

The venv layer's metadata records a digest of the PIP_*/UV_*/POETRY_* settings, so that a changed
setting (another index) rebuilds the venv. Those settings can hold credentials, and the metadata
travels with the image; a plain sha256 of them lets anyone with the image confirm a guessed
password offline. So the digest is an HMAC under a random key that lives only in this layer:
build-only and cached (`build = false, launch = false, cache = true`), never in the image.
Losing the key (a cleared cache) just makes the next digest differ, as a changed setting would.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import CachedLayer, RestoredLayerAction
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "SettingsKeyMetadata", "settings_key"]

LAYER_NAME = LayerName("settings-key")
_KEY_FILE = "key"
_KEY_BYTES = 32


@dataclass(frozen=True)
class SettingsKeyMetadata:
    version: int  # of the key's format; a new format means a new key


_VERSION = 1


def _restored_layer_action(
    old: SettingsKeyMetadata, path: Path
) -> tuple[RestoredLayerAction, None]:
    usable = old.version == _VERSION and _read(path) is not None
    return (RestoredLayerAction.KEEP if usable else RestoredLayerAction.DELETE), None


def _read(layer_dir: Path) -> bytes | None:
    try:
        key = (layer_dir / _KEY_FILE).read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def settings_key(ctx: BuildContext) -> bytes:
    """The key, made on the first build and kept in the cache after that."""
    layer = ctx.cached_layer(
        LAYER_NAME,
        CachedLayer(
            build=False,
            launch=False,
            metadata_type=SettingsKeyMetadata,
            restored_layer_action=_restored_layer_action,
        ),
    )
    key = _read(layer.path)
    if key is None:
        key = secrets.token_bytes(_KEY_BYTES)
        layer.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(layer.path / _KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key)
    layer.write_metadata(SettingsKeyMetadata(_VERSION))
    return key

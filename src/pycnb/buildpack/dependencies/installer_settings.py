"""The `installer-settings` layer: has the user's installer settings changed since the last build?

A changed PIP_*/UV_*/POETRY_* setting (another index, say) must update the venv, so the build
compares a digest of the settings with the previous build's. Those settings can hold credentials,
so the digest is never put where the image carries it (the venv layer's metadata travels with the
image, and a plain sha256 there would let anyone confirm a guessed password offline). It lives in
this layer instead, build-only and cached (`build = false, launch = false, cache = true`), as an
HMAC under a random key kept beside it. Losing the layer (a cleared cache) reads as a change,
which costs one sync and nothing else.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.dependencies.digests import settings_digest
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import CachedLayer, Restored, RestoredLayerAction
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "InstallerSettingsMetadata", "installer_settings_changed"]

LAYER_NAME = LayerName("installer-settings")
_KEY_FILE = "key"
_KEY_BYTES = 32


@dataclass(frozen=True)
class InstallerSettingsMetadata:
    version: int  # of the key's format; a new format means a new key
    settings_digest: str  # HMAC of the last build's settings under the key in this layer


_VERSION = 1


def _restored_layer_action(
    old: InstallerSettingsMetadata, path: Path
) -> tuple[RestoredLayerAction, str]:
    if old.version == _VERSION and _read_key(path) is not None:
        return RestoredLayerAction.KEEP, old.settings_digest
    return RestoredLayerAction.DELETE, ""


def _read_key(layer_dir: Path) -> bytes | None:
    try:
        key = (layer_dir / _KEY_FILE).read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def _write_key(layer_dir: Path) -> bytes:
    key = secrets.token_bytes(_KEY_BYTES)
    layer_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(layer_dir / _KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key


def installer_settings_changed(ctx: BuildContext, env: Mapping[str, str], *, prefix: str) -> bool:
    """Whether the `prefix*` settings in `env` differ from the last build's (true when there is
    no last build on record), and record them as this build's."""
    layer = ctx.cached_layer(
        LAYER_NAME,
        CachedLayer(
            build=False,
            launch=False,
            metadata_type=InstallerSettingsMetadata,
            restored_layer_action=_restored_layer_action,
        ),
    )
    key = _read_key(layer.path) or _write_key(layer.path)
    digest = settings_digest(env, prefix=prefix, key=key)
    match layer.state:
        case Restored(cause=str(previous)):
            changed = previous != digest
        case _:
            changed = True
    # Written now: a failed build commits no cache, so the record only survives with the venv.
    layer.write_metadata(InstallerSettingsMetadata(_VERSION, digest))
    return changed

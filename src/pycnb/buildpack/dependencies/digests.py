"""Digests of what decides the venv's content, to tell whether it changed since the last build.

Only digests are stored, never the values: files and settings may hold credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["files_digest", "settings_digest"]


def settings_digest(env: Mapping[str, str], *, prefix: str, key: bytes) -> str:
    """An HMAC, not a plain hash: the settings may hold credentials, and without the key
    (`installer_settings.py`) the digest confirms no guess."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for name in sorted(name for name in env if name.startswith(prefix)):
        digest.update(f"{name}\0{env[name]}\0".encode(errors="surrogateescape"))
    return digest.hexdigest()


def files_digest(app_dir: Path, names: Sequence[str]) -> str:
    """sha256 over each named file's name and bytes; a missing file counts as absent, so
    adding or removing it changes the digest too."""
    digest = hashlib.sha256()
    for name in names:
        try:
            content = (app_dir / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            digest.update(f"{name}\0absent\0".encode())
            continue
        digest.update(f"{name}\0".encode() + content + b"\0")
    return digest.hexdigest()

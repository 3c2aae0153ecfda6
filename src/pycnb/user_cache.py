"""Where pycnb keeps what outlives one build: `$XDG_CACHE_HOME/pycnb`, else `~/.cache/pycnb`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["user_cache_dir"]


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """pycnb's directory in the user's cache (XDG base directory spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME", "")
    # The spec says to ignore a relative XDG_CACHE_HOME.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "pycnb"

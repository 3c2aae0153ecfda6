"""Where the local platform keeps one app's state: a root directory with fixed subdirectories.

The paths never change for the life of a root, because the spec requires layer contents to keep
their absolute paths from build to launch (rule 42): a venv embeds its own path in `bin/*`
shebangs and `pyvenv.cfg`. So the image's launch layers *live* in `<root>/layers`, the app in
`<root>/workspace`, and a build parks the previous image aside instead of building elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.user_cache import user_cache_dir

__all__ = ["PlatformDirs", "default_root"]


@dataclass(frozen=True)
class PlatformDirs:
    root: Path

    def __post_init__(self) -> None:
        # Absolute and normalized, but symlinks kept as given (Path.resolve would expand them):
        # the user chose this spelling of the path.
        object.__setattr__(self, "root", Path(os.path.abspath(self.root)))  # noqa: PTH100

    @property
    def layers(self) -> Path:
        """`<layers>`: during a build the buildpacks' layers, afterwards the image's."""
        return self.root / "layers"

    @property
    def workspace(self) -> Path:
        """`<app>`: a fresh copy of the app for each build, afterwards the image's app dir."""
        return self.root / "workspace"

    @property
    def platform(self) -> Path:
        """`<platform>`: holds `env/`, the user-provided variables."""
        return self.root / "platform"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def image(self) -> Path:
        """The image's metadata (the lifecycle keeps it in an image label)."""
        return self.root / "image"

    # Internal state, not part of the CNB contract.
    @property
    def lock_file(self) -> Path:
        return self.root / "lock"

    @property
    def txn(self) -> Path:
        """The journal and staging area of the build in progress, if any."""
        return self.root / "txn"

    @property
    def prev(self) -> Path:
        """Where the previous image waits while a build runs."""
        return self.root / "prev"

    @property
    def sessions(self) -> Path:
        """The sessions of the running build's programs (see `guard.reap_leftovers`)."""
        return self.root / "sessions"

    @property
    def builder_bin(self) -> Path:
        """The local builder's own commands for buildpacks (`python3`), first on their PATH."""
        return self.root / "builder" / "bin"

    @property
    def tmp(self) -> Path:
        """Scratch space: plan files, detect-only workspaces. Wiped by every build."""
        return self.root / "tmp"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_root(app_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """A per-app root in the user's cache dir: `<cache>/pycnb/apps/<name>-<hash of the path>`."""
    app = Path(os.path.abspath(app_dir))  # noqa: PTH100 - as PlatformDirs: symlinks kept
    name = _UNSAFE.sub("_", app.name) or "app"
    digest = hashlib.sha256(os.fsencode(app)).hexdigest()[:12]
    return user_cache_dir(env) / "apps" / f"{name}-{digest}"

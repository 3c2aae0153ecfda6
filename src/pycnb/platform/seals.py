"""Seals: proof that a failed build did not change what the previous image and cache hold.

Restored cache layers are hard links to the cache's files, and a `cache = true, launch = true`
layer's cache files are also the previous image's files. A buildpack that edits a restored file
in place (open for append, `open(path, "w")`) therefore writes into the cache and the image. On
success that is harmless: the cache and image are rebuilt from this build. On failure the
platform must know.

So restore records, for every file it links, the inode's size, mtime, mode and link count, and
the filesystem time T after the last link (`fstree.fs_now`). A layer that restore did not link but
borrowed (the previous image's own copy, renamed into the build because it was exactly the
cache's tree; see `restore.py`) is sealed the same way: it holds the same inodes, only without
the extra link, so the link count recorded is the one it already had. Any later write, chmod,
touch or link change to that inode sets its ctime past T, and ctime cannot be set back from user
space. After a failed build, a file counts as modified if its size, mtime or mode changed, or
if its ctime passed T while its link count did not change. A build that merely deleted or
replaced its restored copy (pip on upgrade, a buildpack rewriting a layer's env files) changes
only the link count, which leaves the cache's and the image's copy intact. Then:

- a cache layer with a modified file is dropped;
- the previous image is marked damaged if a file it shares was modified; it refuses to launch
  until the next successful build.

Residual risk, documented in the report: an in-place rewrite that keeps size and mtime (reset
with utime) and also changes the link count in the same build; or the system clock stepping
back during the build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.platform.fstree import LinkedFile

__all__ = ["FileSeal", "LayerSeal", "SealVerdict", "check_seal", "read_seal", "write_seal"]


@dataclass(frozen=True)
class FileSeal:
    path: str  # relative to the cache layer directory
    ino: int
    size: int
    mtime_ns: int
    mode: int
    nlink: int  # once restore linked (or borrowed) it into the build


@dataclass(frozen=True)
class LayerSeal:
    buildpack_id: str
    layer: str
    cache_dir: Path  # the cache's copy of the layer
    shared_with_image: bool  # the previous image holds these very inodes
    files: tuple[FileSeal, ...]
    borrowed: bool = False  # the build got the previous image's own tree, not links to it

    @classmethod
    def from_linked(
        cls,
        buildpack_id: str,
        layer: str,
        cache_dir: Path,
        *,
        shared_with_image: bool,
        linked: Sequence[LinkedFile],
        borrowed: bool = False,
    ) -> LayerSeal:
        """`linked`: each file's lstat before restore linked it (or, if `borrowed`, when restore
        checked the tree it renamed)."""
        added_links = 0 if borrowed else 1
        files = tuple(
            FileSeal(
                f.relative,
                f.before.st_ino,
                f.before.st_size,
                f.before.st_mtime_ns,
                f.before.st_mode,
                f.before.st_nlink + added_links,
            )
            for f in linked
        )
        return cls(buildpack_id, layer, cache_dir, shared_with_image, files, borrowed)


@dataclass(frozen=True)
class SealVerdict:
    touched: tuple[str, ...]  # any change at all to these inodes, link count included
    modified: tuple[str, ...]  # changes that alter what the cache and the image hold


def check_seal(seal: LayerSeal, sealed_at_ns: int) -> SealVerdict:
    touched, modified = [], []
    for f in seal.files:
        try:
            st = os.lstat(seal.cache_dir / f.path)
        except FileNotFoundError:
            # Only the platform deletes cache files, after it judged them; count it as modified
            # so a rollback interrupted half-way never trusts what remains of the layer.
            touched.append(f.path)
            modified.append(f.path)
            continue
        if st.st_ino != f.ino:
            touched.append(f.path)
            modified.append(f.path)
            continue
        if st.st_ctime_ns <= sealed_at_ns:
            continue
        touched.append(f.path)
        content_changed = (st.st_size, st.st_mtime_ns, st.st_mode) != (f.size, f.mtime_ns, f.mode)
        if content_changed or st.st_nlink == f.nlink:
            modified.append(f.path)
    return SealVerdict(tuple(touched), tuple(modified))


def write_seal(path: Path, seal: LayerSeal) -> None:
    # JSON, not TOML: a venv layer means ten thousand rows, and json is fast and in the stdlib.
    data = {
        "buildpack_id": seal.buildpack_id,
        "layer": seal.layer,
        "cache_dir": str(seal.cache_dir),
        "shared_with_image": seal.shared_with_image,
        "borrowed": seal.borrowed,
        "files": [[f.path, f.ino, f.size, f.mtime_ns, f.mode, f.nlink] for f in seal.files],
    }
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data), encoding="utf-8")
    temp.replace(path)


def read_seal(path: Path) -> LayerSeal:
    data = json.loads(path.read_text(encoding="utf-8"))
    return LayerSeal(
        buildpack_id=data["buildpack_id"],
        layer=data["layer"],
        cache_dir=Path(data["cache_dir"]),
        shared_with_image=data["shared_with_image"],
        files=tuple(FileSeal(*row) for row in data["files"]),
        borrowed=data.get("borrowed", False),
    )

"""File-tree operations the platform needs, none of which copies file contents (except the app).

Restore, export and cache move layers with `rename` (same filesystem, O(1)) or rebuild their
directory skeleton and hard-link the files (O(number of files), no data copied). A venv of 10k
files therefore costs milliseconds per build, not a copy of its megabytes.

Hard links share the inode, so an in-place write through one name shows through all of them;
`seals.py` is what makes that safe. This module also provides the filesystem clock used there:
file timestamps come from a coarse kernel clock, so "after" must be measured on the filesystem.
"""

# The tree walks use str paths and os.* calls on purpose: they run per file of 10k-file layers,
# where building a Path object per entry costs more than the syscall itself.
# ruff: noqa: PTH101, PTH102, PTH108, PTH112, PTH114, PTH115, PTH118, PTH120

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NORMALIZED_MTIME",
    "LinkedFile",
    "TamperedFile",
    "changed_paths",
    "copy_app",
    "fingerprint",
    "fs_now",
    "fs_time_after",
    "link_tree",
    "normalize_mtimes",
    "remove",
]

# 1980-01-01T00:00:01Z, what the lifecycle stamps on every exported file (NormalizedModTime).
NORMALIZED_MTIME = 315532801
_NORMALIZED_NS = NORMALIZED_MTIME * 1_000_000_000


def copy_app(source: Path, destination: Path) -> None:
    """A real copy: the build may write to the app dir, and must never write to the source."""
    shutil.copytree(source, destination, symlinks=True)


def remove(path: Path) -> None:
    """Remove a file or tree if it exists, including read-only directories buildpacks leave."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return

    def _make_writable(_func: Callable[..., object], failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, os.lstat(parent).st_mode | stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, os.lstat(failed).st_mode | stat.S_IRWXU)
            shutil.rmtree(failed, onerror=_make_writable)
        else:
            os.unlink(failed)

    shutil.rmtree(path, onerror=_make_writable)


@dataclass(frozen=True)
class LinkedFile:
    relative: str
    before: os.stat_result  # the source's lstat, taken just before linking


class TamperedFile(Exception):
    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def link_tree(
    source: Path, destination: Path, *, trusted_until_ns: int | None = None
) -> list[LinkedFile]:
    """Recreate `source`'s directories at `destination` and hard-link every other entry.

    With `trusted_until_ns`, any entry whose ctime is later raises TamperedFile: it was changed
    after the tree was sealed. The caller removes the partial destination.
    """
    linked: list[LinkedFile] = []
    dir_modes: list[tuple[str, int]] = []
    os.mkdir(destination)
    dir_modes.append((str(destination), os.lstat(source).st_mode))
    stack = [(str(source), str(destination), "")]
    while stack:
        src_dir, dst_dir, relative_dir = stack.pop()
        with os.scandir(src_dir) as entries:
            for entry in entries:
                dst = os.path.join(dst_dir, entry.name)
                relative = f"{relative_dir}{entry.name}"
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(dst)
                    dir_modes.append((dst, st.st_mode))
                    stack.append((entry.path, dst, f"{relative}/"))
                    continue
                if trusted_until_ns is not None and st.st_ctime_ns > trusted_until_ns:
                    raise TamperedFile(Path(entry.path))
                os.link(entry.path, dst, follow_symlinks=False)
                linked.append(LinkedFile(relative, st))
    # Modes last, deepest first: a read-only directory must still accept its entries.
    for path, mode in reversed(dir_modes):
        os.chmod(path, stat.S_IMODE(mode))
    return linked


def normalize_mtimes(root: Path) -> int:
    """Stamp every entry under `root` with NORMALIZED_MTIME, as the lifecycle's layer tarballs
    do. Entries already stamped are left alone (no ctime change, fewer syscalls on rebuilds).
    Returns how many entries were changed."""
    changed = 0
    times = (_NORMALIZED_NS, _NORMALIZED_NS)
    for directory, dirnames, filenames in os.walk(root, topdown=False):
        for name in (*filenames, *dirnames):
            path = os.path.join(directory, name)
            if os.lstat(path).st_mtime_ns != _NORMALIZED_NS:
                os.utime(path, ns=times, follow_symlinks=False)
                changed += 1
    if os.lstat(root).st_mtime_ns != _NORMALIZED_NS:
        os.utime(root, ns=times, follow_symlinks=False)
        changed += 1
    return changed


Fingerprint = dict[str, tuple[int, int, int, int, int, str]]


def fingerprint(root: Path) -> Fingerprint:
    """Every entry's identity and change time. ctime cannot be set from user space, so any write,
    chmod, touch or replacement shows, provided `fs_time_after` separated it from the snapshot."""
    result: Fingerprint = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = os.path.join(directory, name)
            st = os.lstat(path)
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
            relative = os.path.relpath(path, root)
            result[relative] = (
                st.st_ino,
                st.st_mode,
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                target,
            )
    return result


def changed_paths(before: Fingerprint, after: Fingerprint) -> list[str]:
    changes = [f"{p} (removed)" for p in sorted(before.keys() - after.keys())]
    changes += [f"{p} (added)" for p in sorted(after.keys() - before.keys())]
    changes += [
        f"{p} (modified)" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]
    ]
    return changes


def fs_time_after(probe_dir: Path, after_ns: int, timeout: float = 5.0) -> int:
    """Wait until the filesystem clock has passed `after_ns` and return the new time.

    Timestamps come from a coarse clock (a few ms per tick), so a write right after a snapshot
    can carry the very same ctime. Once this returns T > after_ns, any later change to a file
    gets a ctime >= T, which tells it apart from everything stamped before.
    """
    probe = probe_dir / ".clock"
    probe_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        probe.touch()
        now = os.lstat(probe).st_ctime_ns
        if now > after_ns or time.monotonic() > deadline:
            return now
        time.sleep(0.001)


def fs_now(probe_dir: Path) -> int:
    """The filesystem's current time T, once its clock has moved past T: everything stamped
    before the call has a ctime <= T, everything changed after it a ctime > T."""
    now = fs_time_after(probe_dir, 0)
    fs_time_after(probe_dir, now)
    return now

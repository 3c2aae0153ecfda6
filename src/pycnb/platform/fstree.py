"""File-tree operations the platform needs, none of which copies file contents (except the app).

Restore, export and cache move layers with `rename` (same filesystem, O(1)) or rebuild their
directory skeleton and hard-link the files (O(number of files), no data copied, but one mkdir per
directory and one link per file, and later as many rmdirs and unlinks to delete the old tree: on
a slow disk that is most of a warm rebuild). `compare_trees` tells when a tree that already exists
is exactly the one a link would make, so the caller can rename it instead, and which few entries
differ when it is not; `sync_tree` then updates an old tree by those entries only.

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
import subprocess
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

__all__ = [
    "NORMALIZED_MTIME",
    "LinkedFile",
    "TamperedFile",
    "Trash",
    "TreeComparison",
    "changed_paths",
    "compare_trees",
    "copy_app",
    "fingerprint",
    "fs_now",
    "fs_time_after",
    "link_tree",
    "normalize_mtimes",
    "remove",
    "stamp",
    "sync_tree",
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

    def _make_writable(_func: Callable[..., object], failed: str, exc: object) -> None:
        if isinstance(exc, tuple) and isinstance(exc[1], FileNotFoundError):
            return  # already gone: another remover (a `Trash` child) got there first
        parent = os.path.dirname(failed)
        os.chmod(parent, os.lstat(parent).st_mode | stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, os.lstat(failed).st_mode | stat.S_IRWXU)
            shutil.rmtree(failed, onerror=_make_writable)
        else:
            os.unlink(failed)

    shutil.rmtree(path, onerror=_make_writable)


class Trash:
    """Trees to delete: each moved aside at once (one rename), then deleted by a child process
    while this one goes on. Deleting a venv-sized tree is ~0.1 s of syscalls this process would
    otherwise wait for, and a thread cannot overlap them with its own file work (the GIL makes
    two syscall-bound threads slower than one). Leaving the `with` block waits for the children,
    then deletes in process whatever they could not (a read-only directory a buildpack left).

    `directory` must be on the trees' filesystem, and wiped by whoever owns it if a crash
    leaves it behind (the platform's tmp dir is). A child that outlives this process (a
    `kill -9`) only ever deletes what was put under `directory`, with a name no later trash
    reuses: garbage either way."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._children: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        for child in self._children:
            child.wait()
        self._children.clear()
        remove(self._directory)

    def discard(self, path: Path) -> None:
        """Make `path` (a tree or a file) disappear now, and its contents later."""
        self._directory.mkdir(parents=True, exist_ok=True)
        aside = self._directory / uuid.uuid4().hex
        try:
            path.rename(aside)
            child = subprocess.Popen(
                ["rm", "-rf", "--", str(aside)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:  # another filesystem, or no `rm`: the slow way, now
            remove(path)
            remove(aside)
            return
        self._children.append(child)


@dataclass(frozen=True)
class LinkedFile:
    relative: str
    before: os.stat_result  # the source's lstat, taken just before linking


class TamperedFile(Exception):
    def __init__(self, path: Path, relative: str = "") -> None:
        super().__init__(str(path))
        self.path = path
        self.relative = relative  # within the tree; "" for its root


def link_tree(
    source: Path,
    destination: Path,
    *,
    trusted_until_ns: int | None = None,
    copy: bool = False,
    stamp_source: bool = False,
) -> list[LinkedFile]:
    """Recreate `source`'s directories at `destination` and hard-link every other entry.

    With `trusted_until_ns`, any entry whose ctime is later raises TamperedFile: it was changed
    after the tree was sealed. Directories count too: adding, deleting or renaming an entry
    moves its directory's ctime, so a file deleted from the tree is caught as surely as one
    written to, at the cost of one comparison per directory. The caller removes the partial
    destination.

    With `copy`, files are copied instead (symlinks recreated): nothing written to the
    destination, in place or not, can then reach the source's inodes.

    With `stamp_source`, every entry of `source` also gets NORMALIZED_MTIME (its files share
    their inodes with the destination's), as `normalize_mtimes` would give it: one walk of the
    tree instead of two. The `before` of each LinkedFile is then the lstat before stamping.
    """
    linked: list[LinkedFile] = []
    dir_modes: list[tuple[str, int]] = []
    times = (_NORMALIZED_NS, _NORMALIZED_NS)
    root = os.lstat(source)
    if trusted_until_ns is not None and root.st_ctime_ns > trusted_until_ns:
        raise TamperedFile(source, "")
    if stamp_source and root.st_mtime_ns != _NORMALIZED_NS:
        os.utime(source, ns=times, follow_symlinks=False)
    os.mkdir(destination)
    dir_modes.append((str(destination), root.st_mode))
    stack = [(str(source), str(destination), "")]
    while stack:
        src_dir, dst_dir, relative_dir = stack.pop()
        with os.scandir(src_dir) as entries:
            for entry in entries:
                dst = os.path.join(dst_dir, entry.name)
                relative = f"{relative_dir}{entry.name}"
                st = entry.stat(follow_symlinks=False)
                if trusted_until_ns is not None and st.st_ctime_ns > trusted_until_ns:
                    raise TamperedFile(Path(entry.path), relative)
                if stamp_source and st.st_mtime_ns != _NORMALIZED_NS:
                    os.utime(entry.path, ns=times, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(dst)
                    dir_modes.append((dst, st.st_mode))
                    stack.append((entry.path, dst, f"{relative}/"))
                    continue
                if copy:
                    shutil.copy2(entry.path, dst, follow_symlinks=False)  # a symlink as such
                else:
                    os.link(entry.path, dst, follow_symlinks=False)
                linked.append(LinkedFile(relative, st))
    # Modes last, deepest first: a read-only directory must still accept its entries.
    for path, mode in reversed(dir_modes):
        os.chmod(path, stat.S_IMODE(mode))
    return linked


@dataclass(frozen=True)
class TreeComparison:
    """How a tree stands against a reference tree (see `compare_trees`)."""

    # Relative paths ("" is the root) where they differ, sorted (so parents come first): an
    # entry only one of them has, a different kind, a non-directory that is another inode, a
    # directory with another mode. A directory only the tree has is listed with all it holds.
    differences: tuple[str, ...]
    files: tuple[LinkedFile, ...]  # the tree's non-directory entries, with their lstat
    newest_ctime_ns: int  # the latest ctime in the tree, its root and directories included
    unstamped: tuple[str, ...]  # the tree's entries whose mtime is not NORMALIZED_MTIME

    def identical_since(self, since_ns: int) -> bool:
        """The tree is what `link_tree(reference, ...)` would make (so renaming it serves
        instead), and nothing in it changed after `since_ns`. A write, chmod or link change
        moves an inode's ctime; adding, removing or renaming an entry moves its directory's."""
        return not self.differences and self.newest_ctime_ns <= since_ns


def compare_trees(tree: Path, reference: Path) -> TreeComparison | None:
    """Compare two directory trees on one filesystem, reading only. None when either is not a
    readable directory, or they are on different devices (inode numbers are per device).

    The reference's inodes come from `readdir` (d_ino), not lstat: half the syscalls. Where a
    filesystem reports d_ino differently from st_ino (some overlayfs setups) every file
    differs, which costs speed, never correctness.
    """
    try:
        tree_root, reference_root = os.lstat(tree), os.lstat(reference)
        if not (
            stat.S_ISDIR(tree_root.st_mode)
            and stat.S_ISDIR(reference_root.st_mode)
            and tree_root.st_dev == reference_root.st_dev
        ):
            return None
        return _compare_below(str(tree), str(reference), tree_root, reference_root)
    except OSError:
        return None


def _compare_below(
    tree: str, reference: str, tree_root: os.stat_result, reference_root: os.stat_result
) -> TreeComparison:
    differences: list[str] = []
    if stat.S_IMODE(tree_root.st_mode) != stat.S_IMODE(reference_root.st_mode):
        differences.append("")
    files: list[LinkedFile] = []
    unstamped: list[str] = [] if tree_root.st_mtime_ns == _NORMALIZED_NS else [""]
    newest = tree_root.st_ctime_ns
    stack: list[tuple[str, str | None, str]] = [(tree, reference, "")]
    while stack:
        tree_dir, reference_dir, relative_dir = stack.pop()
        expected: dict[str, os.DirEntry[str]] = {}
        if reference_dir is not None:
            with os.scandir(reference_dir) as entries:
                expected = {entry.name: entry for entry in entries}
        with os.scandir(tree_dir) as entries:
            for entry in entries:
                relative = f"{relative_dir}{entry.name}"
                st = entry.stat(follow_symlinks=False)
                newest = max(newest, st.st_ctime_ns)
                if st.st_mtime_ns != _NORMALIZED_NS:
                    unstamped.append(relative)
                twin = expected.pop(entry.name, None)
                twin_is_dir = twin is not None and twin.is_dir(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    if twin is None or not twin_is_dir:
                        differences.append(relative)
                        stack.append((entry.path, None, f"{relative}/"))
                        continue
                    if stat.S_IMODE(twin.stat(follow_symlinks=False).st_mode) != stat.S_IMODE(
                        st.st_mode
                    ):
                        differences.append(relative)
                    stack.append((entry.path, twin.path, f"{relative}/"))
                    continue
                files.append(LinkedFile(relative, st))
                if twin is None or twin_is_dir or twin.inode() != st.st_ino:
                    differences.append(relative)
        differences.extend(f"{relative_dir}{name}" for name in expected)  # only the reference's
    differences.sort()
    return TreeComparison(tuple(differences), tuple(files), newest, tuple(unstamped))


def sync_tree(source: Path, target: Path, paths: Sequence[str]) -> None:
    """Make `target` match `source` at `paths` (`compare_trees(source, target).differences`):
    hard-link source's non-directory entries, create its directories, remove what it lacks,
    give directories its modes. Idempotent, so it can simply run again after a crash; the
    rest of `target` is assumed to match already."""
    parents = {os.path.dirname(p) for p in paths if p}
    # Let the directories take changes, whatever modes the old tree or an interrupted sync
    # left them; their final modes are set last.
    for relative in sorted(parents):
        directory = _under(target, relative)
        st = _lstat_or_none(directory)
        if st is not None and stat.S_ISDIR(st.st_mode):
            os.chmod(directory, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
    directories = set(parents)
    for relative in paths:
        if _sync_entry(_under(source, relative), _under(target, relative), relative):
            directories.add(relative)
    for relative in sorted(directories, reverse=True):  # deepest first, as in link_tree
        mode = stat.S_IMODE(os.lstat(_under(source, relative)).st_mode)
        os.chmod(_under(target, relative), mode)


def _sync_entry(src: str, dst: str, relative: str) -> bool:
    """Make `dst` what `src` is (a directory only as such, not its contents); returns whether
    it is a directory, whose mode the caller sets."""
    if not relative:
        return True  # the root: only its mode can differ
    st = _lstat_or_none(src)
    existing = _lstat_or_none(dst)
    if st is None:
        remove(Path(dst))
        return False
    if stat.S_ISDIR(st.st_mode):
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            os.unlink(dst)
            existing = None
        if existing is None:
            os.mkdir(dst)
        return True
    if existing is not None:
        if existing.st_ino == st.st_ino:
            return False  # linked by an earlier, interrupted run
        if stat.S_ISDIR(existing.st_mode):
            remove(Path(dst))
        else:
            os.unlink(dst)
    os.link(src, dst, follow_symlinks=False)
    return False


def _under(root: Path, relative: str) -> str:
    return os.path.join(root, relative) if relative else str(root)


def _lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def stamp(root: Path, relatives: Iterable[str]) -> None:
    """Give these entries under `root` ("" is the root itself) NORMALIZED_MTIME: the
    `unstamped` of a comparison, instead of walking a whole tree with normalize_mtimes."""
    times = (_NORMALIZED_NS, _NORMALIZED_NS)
    for relative in relatives:
        os.utime(_under(root, relative), ns=times, follow_symlinks=False)


def normalize_mtimes(root: Path, *, skip: Collection[Path] = ()) -> int:
    """Stamp every entry under `root` with NORMALIZED_MTIME, as the lifecycle's layer tarballs
    do. Entries already stamped are left alone (no ctime change, fewer syscalls on rebuilds),
    and so are the trees in `skip` (directories the caller knows are stamped throughout).
    Returns how many entries were changed."""
    changed = 0
    times = (_NORMALIZED_NS, _NORMALIZED_NS)
    skipped = {str(path) for path in skip}
    # Top-down so that skipped trees are never entered; the order does not matter otherwise,
    # since stamping an entry leaves its directory's mtime alone.
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(directory, d) not in skipped]
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

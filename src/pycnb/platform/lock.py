"""One process at a time per root: an advisory `flock` on `<root>/lock`.

A build holds it exclusively from start to commit, so two builds can never interleave; its
guardian (`guard.py`) inherits it and keeps it until every process the build started is gone.
Preparing a launch holds it shared (reads only) unless it has to finish an interrupted build
first. The lock dies with its holders, so a crash never leaves a stale lock behind; the journal
is what tells the next process that something was left half-done.

A holder that is busy for a moment more is waited for, briefly: the guardian of a build that was
just killed keeps the lock until the build's processes are gone, which takes milliseconds, and a
retry started at once should not fail for it.

A shared lock opens the file read-only: `pycnb run` of a finished image must work on a read-only
root, where nothing can write and so nothing needs keeping out.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.errors import RootBusy, RootUnusable

__all__ = ["root_lock"]

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_PATIENCE_SECONDS = 2.0


@contextmanager
def root_lock(dirs: PlatformDirs, *, exclusive: bool) -> Iterator[int | None]:
    """Hold the root's lock, or raise RootBusy if another process keeps holding it. Yields the
    descriptor (None: a shared lock on a root nobody can write, so none was needed)."""
    fd = _open(dirs, exclusive=exclusive)
    if fd is None:
        yield None
        return
    try:
        _acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, dirs)
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases the lock (unless a child holds a copy)


def _open(dirs: PlatformDirs, *, exclusive: bool) -> int | None:
    root = dirs.root
    if os.path.lexists(root) and not root.is_dir():
        raise RootUnusable(root, "it exists and is not a directory")
    try:
        if not exclusive and dirs.lock_file.is_file():
            return os.open(dirs.lock_file, os.O_RDONLY | os.O_CLOEXEC)
        root.mkdir(parents=True, exist_ok=True)
        return os.open(dirs.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        if not exclusive and error.errno in _READ_ONLY:
            return None  # nothing can change a root no one can write to
        if error.errno in _READ_ONLY:
            reason = f"it is not writable ({error.strerror})"
        else:
            reason = f"{error.strerror} ({error.filename})"
        raise RootUnusable(root, reason) from None


def _acquire(fd: int, operation: int, dirs: PlatformDirs) -> None:
    deadline = time.monotonic() + _PATIENCE_SECONDS
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RootBusy(dirs.root) from None
            time.sleep(0.05)
        else:
            return

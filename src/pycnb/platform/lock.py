"""One process at a time per root: an advisory `flock` on `<root>/lock`.

A build holds it exclusively from start to commit, so two builds can never interleave. Preparing
a launch holds it shared (reads only) unless it has to finish an interrupted build first. The
lock dies with its process, so a crash never leaves a stale lock behind; the journal is what
tells the next process that something was left half-done.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.errors import RootBusy

__all__ = ["root_lock"]


@contextmanager
def root_lock(dirs: PlatformDirs, *, exclusive: bool) -> Iterator[None]:
    """Hold the root's lock, or raise RootBusy at once if another process holds it."""
    dirs.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(dirs.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RootBusy(dirs.root) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock

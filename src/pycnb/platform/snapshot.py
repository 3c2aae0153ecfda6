"""Image generations: what a running `pycnb run` launched from stays intact until it exits.

An image is a generation: `<root>/image` (its records) with `<root>/layers` and
`<root>/workspace` (its files, at the absolute paths the build gave them, rule 42). A build parks
the generation it replaces in `<root>/prev/` and, at commit, deletes it. A container keeps its
image's files whatever happens to the tag; so must a local launch.

So a launch *pins* its generation: it holds a shared `flock` on the generation's `image`
directory, inherited by the app across exec and by everything the app starts, and so held
exactly as long as any of them runs. The build respects a pin:

- it never borrows a pinned generation's layers and never moves them into the new image (export
  links them); restore copies the cached layers whose files the pinned generation shares instead
  of linking them, so not even an in-place write of the rebuild reaches the running app;
- at commit it retires a pinned generation to `<root>/retired/<id>/` instead of deleting it; a
  later build deletes each retired generation once nothing pins it.

The running app must also keep *seeing* its generation at the paths it was built for, while the
next build puts new directories there. `hold_generation` gives the launch a private mount
namespace in which `<root>` is a small tmpfs holding bind mounts of the pinned `layers` and
`workspace` (binds follow the directories wherever the build renames them). Where mount
namespaces are not allowed, the launch instead keeps the root's lock shared for its whole life,
so a rebuild is refused (RootBusy) until the app exits: slower to work with, never inconsistent.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.fstree import remove

__all__ = ["collect_retired", "hold_generation", "is_pinned", "pin_generation", "retire"]

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2


def pin_generation(image_dir: Path) -> int | None:
    """A descriptor holding a shared lock on the generation, inheritable across exec; None
    when there is no image directory to pin."""
    try:
        fd = os.open(image_dir, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)  # builds only test it, never hold it: no wait
    os.set_inheritable(fd, True)  # noqa: FBT003 - the stdlib signature
    return fd


def is_pinned(image_dir: Path) -> bool:
    """Whether a launch still pins the generation whose records are in `image_dir`."""
    try:
        fd = os.open(image_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's own lock too
    return False


def _retired(dirs: PlatformDirs) -> Path:
    return dirs.root / "retired"


def retire(dirs: PlatformDirs, parked: Path) -> None:
    """Move a parked generation that a launch still pins out of the build's way."""
    _retired(dirs).mkdir(exist_ok=True)
    parked.rename(_retired(dirs) / uuid.uuid4().hex)


def collect_retired(dirs: PlatformDirs, log: Callable[[str], None]) -> None:
    """Delete the retired generations nothing pins any more."""
    retired = _retired(dirs)
    if not retired.is_dir():
        return
    for generation in sorted(retired.iterdir()):
        if is_pinned(generation / "image"):
            log(f"Keeping an earlier image a running app still uses ({generation.name})")
        else:
            remove(generation)


def hold_generation(dirs: PlatformDirs) -> str | None:
    """Keep the pinned generation in view of this process and what it execs: a private mount
    namespace, or else the root's lock held shared until exit. Returns None, or why the
    namespace could not be made (the lock then holds the image). Call it while holding the
    root's lock, so that `<root>/layers` is still the pinned generation's."""
    try:
        _private_view(dirs)
    except OSError as error:
        _hold_root_lock(dirs)
        return error.strerror or str(error)
    return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _private_view(dirs: PlatformDirs) -> None:
    libc = _libc()
    root = str(dirs.root.resolve())
    if os.geteuid() == 0:
        _check(libc.unshare(_CLONE_NEWNS), "unshare")
    else:
        uid, gid = os.geteuid(), os.getegid()
        _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare")
        # Map this user to itself: files keep their owners as the app sees them.
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    # Nothing mounted here may show outside (or come in from outside).
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    # Opened in the new namespace (a bind source must be in the caller's), and before the tmpfs
    # hides them.
    layers = os.open(dirs.layers, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    workspace = os.open(dirs.workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _check(
            libc.mount(b"tmpfs", root.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=64k"),
            f"mount a tmpfs on {root}",
        )
        try:
            for name, fd in (("layers", layers), ("workspace", workspace)):
                target = f"{root}/{name}"
                Path(target).mkdir()
                source = f"/proc/self/fd/{fd}".encode()
                _check(libc.mount(source, target.encode(), None, _MS_BIND | _MS_REC, None), target)
            flags = _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
            _check(libc.mount(None, root.encode(), None, flags, None), f"make {root} read-only")
        except OSError:
            libc.umount2(root.encode(), _MNT_DETACH)  # back to the real root, for the fallback
            raise
    finally:
        os.close(layers)
        os.close(workspace)


def _hold_root_lock(dirs: PlatformDirs) -> None:
    try:
        fd = os.open(dirs.lock_file, os.O_RDONLY)
    except OSError as error:
        if error.errno in {errno.ENOENT, errno.EROFS, errno.EACCES}:
            return  # no lock file: no build ever ran here, so none can be refused either
        raise
    fcntl.flock(fd, fcntl.LOCK_SH)
    os.set_inheritable(fd, True)  # noqa: FBT003 - the stdlib signature

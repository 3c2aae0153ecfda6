"""`run_build` and `run_detect`: the phases in order, as the lifecycle's creator runs them.

A build: lock the root, finish any interrupted build, write the user env to `<platform>/env/`,
begin a transaction (the previous image is parked), copy the app into a fresh workspace, then
detect, restore (which may borrow unchanged cached launch layers from the parked image through
the transaction), build, export, and commit. Any failure - a buildpack's, the platform's, or
Ctrl-C - rolls the transaction back: nothing of the failed build is exported or cached, and the
previous image is back in place (rule 19).
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pycnb.platform.build import BuildContext, build
from pycnb.platform.detect import DetectContext, DetectResult, GroupEntry, detect
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.env import (
    BuildEnv,
    base_build_env,
    check_user_env,
    read_platform_env,
    write_platform_env,
)
from pycnb.platform.errors import (
    AppNotCopied,
    AppNotFound,
    AppSpecialFiles,
    OverlappingDirs,
    PlatformError,
)
from pycnb.platform.export import ExportedLayer, export
from pycnb.platform.fstree import Trash, copy_app, remove
from pycnb.platform.guard import guarded, reap_leftovers, sigterm_as_interrupt
from pycnb.platform.journal import Transaction, recover
from pycnb.platform.lock import root_lock
from pycnb.platform.processes import Process
from pycnb.platform.restore import RestoredLayer, restore
from pycnb.platform.stores import CacheStore
from pycnb.platform.target import TargetInfo, host_target

__all__ = ["BuildResult", "BuildpackRef", "run_build", "run_detect"]


@dataclass(frozen=True)
class BuildpackRef:
    id: str
    version: str
    api: str
    path: Path


@dataclass(frozen=True)
class BuildResult:
    group: tuple[BuildpackRef, ...]  # the buildpacks that built, in order
    restored: tuple[RestoredLayer, ...]
    layers: tuple[ExportedLayer, ...]  # the image's buildpack layers
    cached: tuple[str, ...]  # "<bp>:<layer>" now in the cache
    processes: tuple[Process, ...]  # sorted by type
    default_process: str | None
    durations: Mapping[str, float]  # seconds per phase, and "total"
    root: Path
    workspace: Path
    layers_dir: Path

    @property
    def succeeded(self) -> bool:
        """Always true: a build that fails raises a PlatformError."""
        return True


def run_build(
    app_dir: Path,
    dirs: PlatformDirs,
    order: Sequence[Sequence[GroupEntry]],
    *,
    user_env: Mapping[str, str],
    clear_cache: bool = False,
    log: Callable[[str], None],
    host_env: Mapping[str, str] | None = None,
    target: TargetInfo | None = None,
) -> BuildResult:
    """Build `app_dir` in `dirs` with the first group of `order` that passes detection.

    `host_env` (default: os.environ) is what the allowlisted base env is taken from; `target`
    (default: the host) is the build/run base."""
    app = _check_app(app_dir, dirs)
    check_user_env(user_env)
    host_env = os.environ if host_env is None else host_env
    target = host_target() if target is None else target
    with (
        sigterm_as_interrupt(),
        root_lock(dirs, exclusive=True) as lock_fd,
        _guarded(dirs, lock_fd, log),
    ):
        recover(dirs, log)
        remove(dirs.tmp)
        dirs.tmp.mkdir(parents=True)
        write_platform_env(dirs.platform, user_env)
        txn = Transaction.begin(dirs, log)
        try:
            result = _build(
                app,
                dirs,
                order,
                txn,
                host_env=host_env,
                target=target,
                clear_cache=clear_cache,
                log=log,
            )
        except BaseException:
            _roll_back(txn, log)
            raise
        finally:
            remove(dirs.tmp)
    log(f"Successfully built {app} in {result.durations['total']:.2f}s")
    log(f"  root:      {dirs.root}")
    log(f"  workspace: {dirs.workspace}")
    log(f"  layers:    {dirs.layers}")
    return result


def _build(
    app: Path,
    dirs: PlatformDirs,
    order: Sequence[Sequence[GroupEntry]],
    txn: Transaction,
    *,
    host_env: Mapping[str, str],
    target: TargetInfo,
    clear_cache: bool,
    log: Callable[[str], None],
) -> BuildResult:
    durations: dict[str, float] = {}
    start = phase_start = time.monotonic()

    def lap(phase: str) -> None:
        nonlocal phase_start
        now = time.monotonic()
        durations[phase] = now - phase_start
        phase_start = now

    _copy_app(app, dirs.workspace)  # rule 40: a fresh copy every build
    base = base_build_env(host_env)
    user_env = read_platform_env(dirs.platform)
    lap("copy")
    log("===> DETECTING")
    detected = detect(
        order,
        DetectContext(
            app_dir=dirs.workspace,
            platform_dir=dirs.platform,
            scratch_dir=dirs.tmp / "detect",
            env=BuildEnv(base),
            user_env=user_env,
            target=target,
            log=log,
        ),
    )
    lap("detect")
    log("===> RESTORING")
    dirs.layers.mkdir()  # rule 40: empty, plus what restore puts back
    previous = txn.previous_image
    # A running app's image (snapshot.py) is linked from, never taken apart.
    pinned = txn.previous_pinned
    restored = restore(
        detected.group,
        layers_dir=dirs.layers,
        previous=previous,
        cache=None if clear_cache else CacheStore(dirs.cache),
        log=log,
        borrow=None if pinned else txn.borrow,
        copy_shared=pinned,
    )
    txn.sealed(restored.seals)
    lap("restore")
    log("===> BUILDING")
    output = build(
        detected,
        BuildContext(
            app_dir=dirs.workspace,
            layers_dir=dirs.layers,
            platform_dir=dirs.platform,
            scratch_dir=dirs.tmp / "build",
            env=BuildEnv(base),
            user_env=user_env,
            target=target,
            log=log,
        ),
    )
    lap("build")
    log("===> EXPORTING")
    with Trash(dirs.tmp / "trash") as trash:
        exported = export(
            detected.group,
            output,
            dirs=dirs,
            previous=previous,
            image_dir=txn.image_staging,
            cache_dir=txn.cache_staging,
            log=log,
            trash=trash,
            restored=restored.seals,
            previous_pinned=pinned,
        )
        txn.commit(exported.moves, exported.carried)
    lap("export")
    durations["total"] = time.monotonic() - start
    return BuildResult(
        group=tuple(BuildpackRef(d.id, d.version, d.api, d.root) for d in detected.group),
        restored=restored.layers,
        layers=exported.layers,
        cached=exported.cached,
        processes=output.processes.processes,
        default_process=output.processes.default_type,
        durations=durations,
        root=dirs.root,
        workspace=dirs.workspace,
        layers_dir=dirs.layers,
    )


def run_detect(
    app_dir: Path,
    dirs: PlatformDirs,
    order: Sequence[Sequence[GroupEntry]],
    *,
    user_env: Mapping[str, str],
    log: Callable[[str], None],
    host_env: Mapping[str, str] | None = None,
    target: TargetInfo | None = None,
) -> DetectResult:
    """Only detect, on a scratch copy of the app: the built image is left alone."""
    app = _check_app(app_dir, dirs)
    check_user_env(user_env)
    host_env = os.environ if host_env is None else host_env
    target = host_target() if target is None else target
    with (
        sigterm_as_interrupt(),
        root_lock(dirs, exclusive=True) as lock_fd,
        _guarded(dirs, lock_fd, log),
    ):
        recover(dirs, log)
        scratch = dirs.tmp / "detect-only"
        remove(dirs.tmp)
        try:
            _copy_app(app, scratch / "workspace")
            write_platform_env(scratch / "platform", user_env)
            log("===> DETECTING")
            return detect(
                order,
                DetectContext(
                    app_dir=scratch / "workspace",
                    platform_dir=scratch / "platform",
                    scratch_dir=scratch / "plans",
                    env=BuildEnv(base_build_env(host_env)),
                    user_env=read_platform_env(scratch / "platform"),
                    target=target,
                    log=log,
                ),
            )
        finally:
            remove(dirs.tmp)


@contextmanager
def _guarded(dirs: PlatformDirs, lock_fd: int | None, log: Callable[[str], None]) -> Iterator[None]:
    """No process of an earlier build still runs, and every one of this build is owned."""
    reap_leftovers(dirs.sessions, log)
    with guarded(lock_fd, dirs.sessions):
        yield


def _roll_back(txn: Transaction, log: Callable[[str], None]) -> None:
    """Undo the failed build; if that fails too (a full disk), say so and leave the journal:
    the next pycnb command on this root finishes the rollback before anything else."""
    try:
        txn.rollback()
    except (OSError, PlatformError) as error:
        log(
            f"Warning: could not finish undoing the failed build ({error}); the next pycnb "
            "command on this root will finish it first"
        )


_SPECIAL = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def _copy_app(app: Path, workspace: Path) -> None:
    """Copy the app, refusing what an image cannot hold (copying a FIFO would block forever)
    and turning I/O errors into a message that names the file."""
    special = []
    for directory, _dirs, files in os.walk(app, onerror=_walk_error):
        for name in files:
            path = Path(directory) / name
            try:
                kind = _SPECIAL.get(stat.S_IFMT(path.lstat().st_mode))
            except OSError as error:
                raise AppNotCopied(path, error.strerror or str(error)) from None
            if kind is not None:
                special.append((path, kind))
    if special:
        raise AppSpecialFiles(app, tuple(special))
    try:
        copy_app(app, workspace)
    except shutil.Error as errors:
        source, _destination, reason = errors.args[0][0]
        raise AppNotCopied(Path(source), str(reason)) from None
    except OSError as error:
        raise AppNotCopied(Path(error.filename or app), error.strerror or str(error)) from None


def _walk_error(error: OSError) -> None:
    raise AppNotCopied(Path(error.filename or "?"), error.strerror or str(error))


def _check_app(app_dir: Path, dirs: PlatformDirs) -> Path:
    app = Path(os.path.abspath(app_dir))  # noqa: PTH100 - symlinks kept, as PlatformDirs
    if not app.is_dir():
        raise AppNotFound(app)
    real_app, real_root = app.resolve(), dirs.root.resolve()
    if real_root.is_relative_to(real_app) or real_app.is_relative_to(real_root):
        raise OverlappingDirs(app, dirs.root)
    return app

"""Launching the built app, as the CNB launcher does (sections 5.6 and 6, rules 43-50).

`prepare_launch` computes everything the launcher computes before its final exec - the env after
env files and exec.d, the argv, the working dir, the resolved executable - and returns it; the
caller chdirs and execs (the CLI replaces its own process, as the launcher does).

Order [L launch/launcher.go]: the starting env is a run image's (PATH, HOME, HOSTNAME) plus the
user's vars, minus the CNB_* vars the launcher removes; then each buildpack's launch layers (path
dirs of all its layers, then each layer's env/, env.launch/, env.launch/<type>/); then exec.d,
per layer general programs then `exec.d/<type>/` ones (D7); then `command[0]` is looked up on the
final PATH with the app dir as cwd; the process runs in its working-dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pycnb.cnb.names import BuildpackId
from pycnb.platform.dirs import PlatformDirs
from pycnb.platform.env import check_env, launch_base_env, launch_env
from pycnb.platform.errors import (
    CommandNotFound,
    ImageDamaged,
    InvalidLaunchRequest,
    NoDefaultProcess,
    NoImage,
    UnknownProcessType,
)
from pycnb.platform.exec_d import run_exec_d
from pycnb.platform.guard import reap_leftovers
from pycnb.platform.journal import pending, recover
from pycnb.platform.lock import root_lock
from pycnb.platform.processes import Process, process_argv, read_launch_metadata
from pycnb.platform.snapshot import hold_generation, pin_generation
from pycnb.platform.stores import ImageStore

__all__ = ["Launch", "look_path", "prepare_launch"]


@dataclass(frozen=True)
class Launch:
    """What to exec: chdir to `cwd`, then `os.execve(executable, argv, env)`."""

    executable: str  # absolute, or relative to `cwd` exactly as the launcher would exec it
    argv: tuple[str, ...]  # argv[0] is command[0] as written
    env: Mapping[str, str]
    cwd: Path
    process_type: str | None  # None for a user command
    pin: int | None = None  # with hold=True: the descriptor pinning the image (snapshot.py)
    shared_view: str | None = None  # with hold=True: why no private view could be made


def prepare_launch(
    dirs: PlatformDirs,
    *,
    process_type: str | None,
    command: Sequence[str] | None,
    user_env: Mapping[str, str],
    args: Sequence[str] = (),
    host_env: Mapping[str, str] | None = None,
    hold: bool = False,
) -> Launch:
    """Resolve a process type (or the default) with user `args`, or a user `command` run
    directly (the launcher's `--` form). With `hold` (for a process about to exec the app), the
    image is pinned and this process given a private view of it (`snapshot.py`) before the lock
    is let go, so no build can replace it in between."""
    if command is not None and (process_type is not None or args):
        raise InvalidLaunchRequest("give either a process type (with its args) or a command")
    if command is not None and not command:
        raise InvalidLaunchRequest("the command to run is empty")
    host_env = os.environ if host_env is None else host_env
    check_env(user_env, "the user env")
    with _settled(dirs):
        image = ImageStore(dirs.image, dirs.layers)
        if not image.exists():
            raise NoImage(dirs.root)
        if damage := image.damage():
            raise ImageDamaged(dirs.root, damage)
        metadata = read_launch_metadata(image.launch_metadata_path)
        process = (
            None
            if command is not None
            else _process(metadata.processes, metadata.default_type, process_type)
        )
        chosen_type = process.type if process is not None else None
        buildpack_ids = [bp_id for bp_id, _, _ in metadata.buildpacks]
        env = launch_env(
            launch_base_env(host_env, user_env), dirs.layers, buildpack_ids, chosen_type
        )
        for program in _exec_d_programs(dirs.layers, buildpack_ids, chosen_type):
            env.update(run_exec_d(program, env, dirs.workspace))
        pinned = pin_generation(dirs.image) if hold else None
        shared_view = hold_generation(dirs) if hold else None
    argv = process_argv(process, args) if process is not None else tuple(command or ())
    executable = look_path(argv[0], env.get("PATH", ""), dirs.workspace)
    working_dir = process.working_dir if process is not None else None
    cwd = dirs.workspace / working_dir if working_dir else dirs.workspace  # D6: relative to app
    return Launch(executable, argv, env, cwd, chosen_type, pinned, shared_view)


@contextmanager
def _settled(dirs: PlatformDirs) -> Iterator[None]:
    """Hold the root's lock (shared) with no interrupted build pending."""
    if not dirs.root.is_dir():
        raise NoImage(dirs.root)
    with root_lock(dirs, exclusive=False):
        if not pending(dirs):
            yield
            return
    with root_lock(dirs, exclusive=True):
        reap_leftovers(dirs.sessions, lambda _line: None)
        recover(dirs, lambda _line: None)
        yield


def _process(
    processes: Mapping[str, Process], default_type: str | None, requested: str | None
) -> Process:
    available = tuple(sorted(processes))
    wanted = requested or default_type
    if wanted is None:
        raise NoDefaultProcess(available)
    if wanted not in processes:
        raise UnknownProcessType(wanted, available)
    return processes[wanted]


def _exec_d_programs(
    layers_dir: Path, buildpack_ids: Sequence[str], process_type: str | None
) -> Iterator[Path]:
    for buildpack_id in buildpack_ids:
        bp_dir = layers_dir / BuildpackId(buildpack_id).directory_name
        if not bp_dir.is_dir():
            continue
        for layer in sorted(
            (p for p in bp_dir.iterdir() if p.is_dir()), key=lambda p: os.fsencode(p.name)
        ):
            yield from _programs(layer / "exec.d")
            if process_type is not None:
                yield from _programs(layer / "exec.d" / process_type)


def _programs(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    with os.scandir(directory) as entries:
        names = sorted(
            (e.name for e in entries if not e.is_dir(follow_symlinks=False)), key=os.fsencode
        )
    return [directory / name for name in names]


def look_path(command: str, path_value: str, app_dir: Path) -> str:
    """Find `command` as Go's exec.LookPath does, from the app dir: a name with a `/` is used as
    is; a bare name is searched on PATH, and a hit through a relative PATH entry is refused."""
    if "/" in command:
        if _is_executable(app_dir / command):
            return command
        raise CommandNotFound(command, "there is no executable file at that path (from the app)")
    for entry in path_value.split(os.pathsep):
        # str paths: Go keeps "./x" as written, and whether it is relative is the point.
        candidate = os.path.join(entry or ".", command)  # noqa: PTH118
        if _is_executable(app_dir / candidate):
            if not os.path.isabs(candidate):  # noqa: PTH117
                raise CommandNotFound(
                    command,
                    f"it was found as {candidate} through a relative PATH entry, which the "
                    "launcher refuses",
                )
            return candidate
    raise CommandNotFound(command, f"it is not on the launch PATH ({path_value})")


def _is_executable(path: Path) -> bool:
    return path.exists() and not path.is_dir() and os.access(path, os.X_OK)

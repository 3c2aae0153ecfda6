"""Process ownership: every process a build starts dies with the build, however it ends.

Each bin/detect and bin/build runs in a process group (and session) of its own, so that it and
everything it starts (pip, compilers) can be signalled as one, and none of them gets the
terminal's Ctrl-C directly: the platform decides how they stop. Three layers make sure they do:

- the platform stops a group itself when the program exits (stragglers it left behind) or when
  the platform is interrupted (Ctrl-C, or SIGTERM, which `sigterm_as_interrupt` turns into the
  same exception): SIGTERM, a grace period, then SIGKILL;
- the program's own process gets PR_SET_PDEATHSIG=SIGKILL, so it dies the moment the platform
  dies, even by SIGKILL;
- a guardian process (`_guardian.py`), started per build in its own session and holding the
  root's lock, hears the platform's end on a pipe and SIGKILLs every group still registered,
  then waits until none of their processes is left before it lets go of the lock. So a later
  build cannot begin, let alone commit, while a process of an earlier one can still write.

And a fourth, for when even the guardian was killed (a `kill -9` of every pycnb process): the
build records each group's session in `<root>/sessions` as it starts, and the next build on the
root kills whatever still runs in those sessions before it does anything else (`reap_leftovers`).
Buildpack programs are session leaders (`start_new_session`), so a session id is theirs for as
long as any process of it lives.

What escapes: a process that starts a session of its own (setsid(), a daemon) and outlives the
build.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO

__all__ = [
    "BuildInterrupted",
    "Guard",
    "guarded",
    "reap_leftovers",
    "run_guarded",
    "sigterm_as_interrupt",
]

_PR_SET_PDEATHSIG = 1
_GRACE_SECONDS = 5.0
_GUARDIAN = Path(__file__).with_name("_guardian.py")


class BuildInterrupted(KeyboardInterrupt):
    """SIGTERM, raised where the platform is, so that it cleans up as for Ctrl-C."""


class Guard:
    """The running build's guardian, told about each process group as it starts and ends."""

    def __init__(self, lock_fd: int | None, record: Path | None = None) -> None:
        self._record = record
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_GUARDIAN), *([str(record)] if record else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=() if lock_fd is None else (lock_fd,),
            start_new_session=True,
        )
        self._pipe: IO[bytes] | None = self._process.stdin

    def _send(self, line: str) -> None:
        if self._pipe is not None:
            self._pipe.write(f"{line}\n".encode("ascii"))
            self._pipe.flush()

    def register(self, group: int) -> None:
        if self._record is not None:
            with self._record.open("a", encoding="ascii") as record:
                record.write(f"{group}\n")
        self._send(f"+{group}")

    def unregister(self, group: int) -> None:
        self._send(f"-{group}")

    def close(self) -> None:
        """End the guardian: every group was cleaned up, so it has nothing left to do."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        self._process.wait()
        if self._record is not None:
            self._record.unlink(missing_ok=True)


_current: Guard | None = None


@contextmanager
def guarded(lock_fd: int | None, record: Path | None = None) -> Iterator[Guard]:
    """Start a guardian holding `lock_fd` for the programs `run_guarded` starts meanwhile;
    `record` is where their sessions are written down for `reap_leftovers`."""
    global _current  # noqa: PLW0603 - one build per process; detect and build both need it
    guard = Guard(lock_fd, record)
    previous, _current = _current, guard
    try:
        yield guard
    finally:
        _current = previous
        guard.close()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises BuildInterrupted (main thread only), so a build
    rolls back and stops its buildpacks as for Ctrl-C instead of dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(_signum: int, _frame: FrameType | None) -> None:
        raise BuildInterrupted

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _die_with(parent: int) -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)

    def _in_child() -> None:
        # Runs between fork and exec. If the platform died before prctl took effect, the
        # signal will never come: leave at once.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return _in_child


def _signal_group(group: int, signum: int) -> bool:
    """Send `signum` to the group; False if none of its processes is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _stop_group(process: subprocess.Popen[bytes], *, grace: float) -> None:
    group = process.pid
    if process.poll() is None and _signal_group(group, signal.SIGTERM):
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    _signal_group(group, signal.SIGKILL)
    process.wait()
    # Stragglers may outlive the leader by a moment; poll (bounded) until the group is empty.
    deadline = time.monotonic() + max(grace, 1.0)
    while _signal_group(group, 0) and time.monotonic() < deadline:
        _signal_group(group, signal.SIGKILL)
        time.sleep(0.01)


def run_guarded(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> int:
    """Run a program in a process group of its own, registered with the current guard; return
    its status as `subprocess` does (negative: killed by that signal). Raises OSError when it
    cannot be started."""
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()),  # noqa: PLW1509 - the platform is single-threaded
    )
    guard = _current
    if guard is not None:
        guard.register(process.pid)
    try:
        status = process.wait()
    except BaseException:
        _stop_group(process, grace=_GRACE_SECONDS)
        raise
    else:
        # What it left running (a server started for tests, a stray pip) must not write into
        # the layers while they are exported.
        _stop_group(process, grace=0.0)
    finally:
        if guard is not None:
            guard.unregister(process.pid)
    return status


def _in_sessions(sessions: set[int]) -> list[int]:
    """Live (non-zombie) processes whose session is one of `sessions`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[3]) in sessions:
            found.append(int(entry.name))
    return found


def reap_leftovers(record: Path, log: Callable[[str], None]) -> None:
    """Kill what an earlier build on this root left running, if its guardian died with it.
    Call it holding the root's lock exclusively, before anything else."""
    try:
        text = record.read_text(encoding="ascii")
    except FileNotFoundError:
        return
    sessions = {int(line) for line in text.split() if line.isdigit()}
    deadline = time.monotonic() + _GRACE_SECONDS
    while (alive := _in_sessions(sessions)) and time.monotonic() < deadline:
        log(f"Stopping {len(alive)} process(es) an interrupted build left running")
        for pid in alive:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    record.unlink(missing_ok=True)

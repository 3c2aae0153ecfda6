"""The build's guardian: kills what a build started when the build process dies.

Run by `guard.py` as `python -I -S _guardian.py` in a session of its own, so neither Ctrl-C nor a
signal sent to the platform's process group reaches it. It inherits the root's lock and reads
lines from the platform on stdin: `+PGID` when a buildpack's process group starts, `-PGID` once
the platform has cleaned that group up itself. End of input means the platform is gone, whether
it finished or was killed with SIGKILL (no handler of its own runs then): every group still
registered gets SIGKILL, and the guardian keeps the lock until none of their processes is left,
so no later build can begin while one of them might still write. Standard library only: it must
start fast and cannot import pycnb under -I -S.
"""

# Plain os calls on purpose: this runs with -S, as a standalone script, on every build.
# ruff: noqa: PTH108, PTH123, PTH208

import contextlib
import os
import signal
import sys
import time

# A process killed with SIGKILL is gone within milliseconds; a zombie whose parent never reaps
# it no longer runs and is ignored. The bound only guards against a process stuck in the kernel.
_WAIT_SECONDS = 30.0


def _members(groups: set[int]) -> list[int]:
    """Live (non-zombie) processes in `groups`, from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[2]) in groups:
            found.append(int(name))
    return found


def main() -> None:
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        text = line.strip().decode("ascii", "replace")
        if text[:1] == "+" and text[1:].isdigit():
            groups.add(int(text[1:]))
        elif text[:1] == "-" and text[1:].isdigit():
            groups.discard(int(text[1:]))
    deadline = time.monotonic() + _WAIT_SECONDS
    while groups and time.monotonic() < deadline:
        for group in list(groups):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        if not _members(groups):
            break
        time.sleep(0.02)
    if not _members(groups) and len(sys.argv) > 1:
        # All gone: the next build has nothing to reap (see guard.reap_leftovers).
        with contextlib.suppress(OSError):
            os.unlink(sys.argv[1])


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the platform's end makes it act
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    main()

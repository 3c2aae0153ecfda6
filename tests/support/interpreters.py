"""Real CPython interpreters found on this machine at run time, for tests that need a given one.

Nothing here names a machine path except `/usr/bin/python3`, the interpreter a Debian/Ubuntu
builder image provides. pyenv shims are never returned: a probe reports the real
`sys.executable`, run from `/` so that no `.python-version` can steer a shim.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["buildpack_python", "old_cpython", "probe"]

_PROBE = (
    "import sys; print(sys.implementation.name, sys.version_info[0], sys.version_info[1],"
    " sys.executable)"
)


def probe(command: str | Path) -> tuple[tuple[int, int], Path] | None:
    """(major, minor) and the real executable of a CPython, or None if it is not a CPython."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYENV_VERSION", "PYENV_DIR"}}
    try:
        result = subprocess.run(
            [str(command), "-I", "-c", _PROBE],
            cwd="/",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    parts = result.stdout.strip().split(" ", 3)
    if result.returncode != 0 or len(parts) != 4 or parts[0] != "cpython":
        return None
    return (int(parts[1]), int(parts[2])), Path(parts[3])


@functools.cache  # the machine does not change during a test run
def buildpack_python() -> Path:
    """A real CPython >= 3.11 like a builder image's: `/usr/bin/python3` if it is one, else the
    interpreter running the tests (its real binary, not a venv or a shim)."""
    system = Path("/usr/bin/python3")
    found = probe(system) if system.exists() else None
    if found is not None and found[0] >= (3, 11):
        return found[1]
    return Path(sys.executable).resolve()


@functools.cache
def old_cpython() -> Path | None:
    """The real binary of some CPython older than 3.11, or None if this machine has none."""
    for name in ("python3.10", "python3.9", "python3.8"):
        command = shutil.which(name)
        found = probe(command) if command else None
        if found is not None and found[0] < (3, 11):
            return found[1]
    return _old_pyenv_python()


def _old_pyenv_python() -> Path | None:
    # A pyenv shim only runs the globally selected version, so ask pyenv where the others live.
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    listed = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    )
    old_versions = [
        (int(match.group(1)), version)
        for version in listed.stdout.split()
        if (match := re.fullmatch(r"3\.(\d+)(\.\d+)?", version)) and int(match.group(1)) < 11
    ]
    for _, version in sorted(old_versions, reverse=True):  # the newest first: 3.10 before 3.6
        prefix = subprocess.run(
            [pyenv, "prefix", version], capture_output=True, text=True, check=False
        )
        found = probe(Path(prefix.stdout.strip()) / "bin" / "python3")
        if prefix.returncode == 0 and found is not None and found[0] < (3, 11):
            return found[1]
    return None

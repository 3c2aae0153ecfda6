"""Running a buildpack's bin/detect or bin/build, as the lifecycle does: argv list, the full env
we built (never our own os.environ), cwd the app dir, stdin empty, and stdout/stderr inherited
so the user sees the output live. Each runs in a process group the platform owns and stops
(`guard.py`), so nothing it starts outlives the build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.platform.env import check_env
from pycnb.platform.guard import run_guarded

__all__ = ["Exited", "NotStarted", "run_program"]


@dataclass(frozen=True)
class Exited:
    status: int  # negative: killed by that signal


@dataclass(frozen=True)
class NotStarted:
    reason: str


def run_program(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, source: str
) -> Exited | NotStarted:
    check_env(env, source)
    try:
        status = run_guarded(argv, env=env, cwd=cwd)
    except OSError as error:  # missing, not executable, bad #! line
        return NotStarted(error.strerror or str(error))
    return Exited(status)

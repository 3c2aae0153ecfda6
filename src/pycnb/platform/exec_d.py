"""exec.d programs: run at launch after the static env files, their output sets env vars.

[L launch/exec_d_linux.go]: each program runs with no arguments, the launch env so far, cwd the
app dir, stdout/stderr inherited, and an extra writable fd 3. It writes TOML to fd 3: top-level
`NAME = "value"` pairs, strings only (anything else fails the launch), each overriding NAME. A
non-zero exit aborts the launch (rule 47).
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pycnb.platform.env import check_env
from pycnb.platform.errors import ContentError, ExecDFailed, InvalidExecDOutput

__all__ = ["parse_exec_d_output", "run_exec_d"]

_EXEC_D_FD = 3


def parse_exec_d_output(output: bytes) -> dict[str, str]:
    """Raises ContentError saying what is wrong."""
    try:
        data = tomllib.loads(output.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ContentError(f"not UTF-8 ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"not TOML ({error})") from None
    result = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise ContentError(f"{name} = {value!r}: values must be strings")
        if not name or "=" in name or "\0" in name:
            raise ContentError(f"{name!r} is not a valid environment variable name")
        result[name] = value
    return result


def _to_fd_3(write_fd: int) -> None:
    # Runs in the child between fork and exec. dup2 clears close-on-exec on the new fd 3.
    if write_fd != _EXEC_D_FD:
        os.dup2(write_fd, _EXEC_D_FD)
    else:
        os.set_inheritable(_EXEC_D_FD, True)  # noqa: FBT003


def run_exec_d(program: Path, env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """Run one exec.d program and return the vars it set."""
    check_env(env, f"the launch env of {program}")
    read_fd, write_fd = os.pipe()  # both close-on-exec (PEP 446)
    try:
        try:
            # fd 3 must be exactly 3 in the child. pass_fds cannot renumber, so dup2 in the
            # child; close_fds stays off because it would close fd 3 again. Our own fds are
            # non-inheritable, so nothing else leaks.
            child = subprocess.Popen(
                [str(program)],
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                close_fds=False,
                preexec_fn=lambda: _to_fd_3(write_fd),  # noqa: PLW1509 - only os.dup2 runs
            )
        except OSError as error:
            raise ExecDFailed(program, f"could not start: {error.strerror or error}") from None
        os.close(write_fd)
        write_fd = -1
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
        status = child.wait()
    finally:
        os.close(read_fd)
        if write_fd != -1:
            os.close(write_fd)
    if status != 0:
        how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
        raise ExecDFailed(program, how)
    try:
        return parse_exec_d_output(b"".join(chunks))
    except ContentError as error:
        raise InvalidExecDOutput(program, str(error)) from None

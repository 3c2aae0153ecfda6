"""Before export: can each process's program start in the environment the build produced?

A server that cannot even be imported makes an image that crashes on start, and the build log is
the cheapest place to learn it (gunicorn 20 imports `pkg_resources`, which a venv without
setuptools does not have; an old dependency imports `cgi`, which Python 3.13 removed). For each
process whose program is a console script of the venv, the script's module is imported with the
venv's Python, in the app directory, with the build's env. An import that fails for want of a
module fails the build; any other error at import time may depend on the runtime environment
(a setting read at import, a service to reach), so it only warns.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.errors import LaunchError
from pycnb.buildpack.launch.processes import Installed
from pycnb.buildpack.output import Message, Output
from pycnb.cnb.launch import Process

__all__ = ["ProcessCannotStart", "check_processes_start", "program_of"]

_SHELLS = frozenset({"sh", "bash"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([\w.]+)'", re.MULTILINE)
_LAST_ERROR = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception)\b.*)$", re.MULTILINE)

# Imports the module the way the console script would, and nothing more.
_IMPORT = "import importlib, sys; importlib.import_module(sys.argv[1])"


@dataclass
class ProcessCannotStart(LaunchError):
    process_type: str
    program: str  # the console script, "gunicorn"
    module: str  # its entry module, "gunicorn.app.wsgiapp"
    missing: str  # the module the import could not find
    output: str  # Python's traceback

    def __str__(self) -> str:
        return f"{self.program} cannot start: no module named {self.missing!r}"


def program_of(process: Process) -> str | None:
    """The program a process runs: the first word of a `sh -c`/`bash -c` script, past `exec`
    and variable assignments, or the command itself."""
    command = process.command
    if Path(command[0]).name in _SHELLS and len(command) >= 3 and command[1] == "-c":  # noqa: PLR2004
        try:
            words = shlex.split(command[2])
        except ValueError:
            return None  # unbalanced quotes: bash would say so at launch
        while words and (words[0] == "exec" or _ASSIGNMENT.match(words[0])):
            words.pop(0)
        return Path(words[0]).name if words else None
    return Path(command[0]).name


def check_processes_start(
    processes: Sequence[Process],
    installed: Installed,
    *,
    python: Path,
    app_dir: Path,
    env: Mapping[str, str],
    out: Output,
) -> None:
    checked: set[str] = set()
    for process in processes:
        program = program_of(process)
        if program is None or program not in installed.console_scripts:
            continue
        module = installed.console_scripts[program].split(":", 1)[0].strip()
        if module in checked:
            continue
        checked.add(module)
        try:
            run_captured([str(python), "-c", _IMPORT, module], env=env, cwd=app_dir)
        except CommandFailed as error:
            output = error.output or ""
            if missing := _MISSING_MODULE.search(output):
                raise ProcessCannotStart(
                    str(process.type), program, module, missing.group(1), output
                ) from None
            last = _LAST_ERROR.findall(output)
            out.warning(
                Message(
                    f"{program} ({process.type} process) raised an error when imported",
                    f"`python -c 'import {module}'` failed in the build:\n\n"
                    + (last[-1] if last else output.strip()),
                    "This may only happen in the build (a setting or a service the import "
                    "needs at run time); if the process fails to start, fix that error.",
                )
            )
        else:
            out.detail(f"{program} ({process.type}) imports cleanly")

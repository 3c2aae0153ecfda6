"""The app's `Procfile`: one process type per line, `type: command`, as on Heroku.

Parsing is pure and collects every bad line before failing, so one build shows all of them.
Each command runs through `bash -c` because Procfile commands are written for a shell: `$PORT`,
`&&`, redirections, and (since Procfiles come from Heroku, which runs them with bash) bash-isms.
A buildpack process (API >= 0.9) runs without a shell, so the shell has to be
the command itself. `bash -c` with a single simple command execs it, so the server still gets
signals directly; a command is never rewritten (a `cd x && exec y` must stay as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pycnb.buildpack.errors import LaunchError
from pycnb.cnb.launch import Process
from pycnb.cnb.names import ProcessType

__all__ = [
    "PROCFILE",
    "InvalidProcfile",
    "ProblemKind",
    "ProcfileProblem",
    "parse_procfile",
    "procfile_process",
    "read_procfile",
]

PROCFILE = "Procfile"

# The process type that becomes the image's default when the Procfile has it.
_WEB = ProcessType("web")

# `type: command`. Heroku allows spaces around the colon and before the type.
_LINE = re.compile(r"^\s*(?P<type>[^:\s][^:]*?)\s*:\s*(?P<command>.*?)\s*$")
# Heroku's process types are letters, digits, `_` and `-`; the CNB spec also allows `.`.
_TYPE = re.compile(r"[A-Za-z0-9._-]+")


class ProblemKind(Enum):
    MALFORMED = "malformed"  # not `type: command`
    INVALID_TYPE = "invalid-type"  # characters a process type cannot have
    EMPTY_COMMAND = "empty-command"  # `web:` with nothing after it
    DUPLICATE_TYPE = "duplicate-type"  # the same type twice
    NOT_UTF8 = "not-utf8"  # bytes that are not UTF-8 text


@dataclass(frozen=True)
class ProcfileProblem:
    line_number: int
    line: str  # the line as found (undecodable bytes replaced)
    kind: ProblemKind
    process_type: str | None = None  # the text before the colon, when there is one
    first_line_number: int | None = None  # DUPLICATE_TYPE: where the type was first declared


@dataclass
class InvalidProcfile(LaunchError):
    problems: tuple[ProcfileProblem, ...]

    def __str__(self) -> str:
        return "; ".join(f"Procfile line {p.line_number}: {p.kind.value}" for p in self.problems)


def read_procfile(app_dir: Path) -> list[Process] | None:
    """The Procfile's processes, or None when the app has no Procfile."""
    path = app_dir / PROCFILE
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_number = data[: error.start].count(b"\n") + 1
        line = data.decode("utf-8", errors="replace").splitlines()[line_number - 1]
        problem = ProcfileProblem(line_number, line, ProblemKind.NOT_UTF8)
        raise InvalidProcfile((problem,)) from None
    return parse_procfile(text)


def parse_procfile(text: str) -> list[Process]:
    """Processes in file order. The `web` process, else a lone process, is the default.

    Blank lines and lines starting with `#` are skipped. Raises InvalidProcfile listing every
    bad line."""
    commands: dict[str, tuple[int, str]] = {}
    problems: list[ProcfileProblem] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(raw)
        if match is None:
            problems.append(ProcfileProblem(number, raw, ProblemKind.MALFORMED))
            continue
        process_type, command = match["type"], match["command"]
        if not _TYPE.fullmatch(process_type):
            problems.append(ProcfileProblem(number, raw, ProblemKind.INVALID_TYPE, process_type))
        elif not command:
            problems.append(ProcfileProblem(number, raw, ProblemKind.EMPTY_COMMAND, process_type))
        elif process_type in commands:
            first = commands[process_type][0]
            problems.append(
                ProcfileProblem(number, raw, ProblemKind.DUPLICATE_TYPE, process_type, first)
            )
        else:
            commands[process_type] = (number, command)
    if problems:
        raise InvalidProcfile(tuple(problems))
    types = [ProcessType(name) for name in commands]
    default = _WEB if _WEB in types else (types[0] if len(types) == 1 else None)
    return [
        procfile_process(
            process_type, commands[str(process_type)][1], default=process_type == default
        )
        for process_type in types
    ]


def procfile_process(process_type: ProcessType, command: str, *, default: bool) -> Process:
    return Process(process_type, ("bash", "-c", command), default=default)

"""Procfile parsing: processes in order, the default, and every bad line reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycnb.buildpack.launch.procfile import (
    InvalidProcfile,
    ProblemKind,
    ProcfileProblem,
    parse_procfile,
    read_procfile,
)
from pycnb.cnb.launch import Process
from pycnb.cnb.names import ProcessType


def bash(process_type: str, command: str, *, default: bool = False) -> Process:
    return Process(ProcessType(process_type), ("bash", "-c", command), default=default)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web: gunicorn app:app\n", [bash("web", "gunicorn app:app", default=True)]),
        (
            "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: celery -A app worker\n",
            [
                bash("web", "gunicorn app:app --bind 0.0.0.0:$PORT", default=True),
                bash("worker", "celery -A app worker"),
            ],
        ),
        (
            "worker: python worker.py\nweb: python web.py\n",
            [bash("worker", "python worker.py"), bash("web", "python web.py", default=True)],
        ),
        ("worker: python worker.py", [bash("worker", "python worker.py", default=True)]),
        (
            "\ufeff# comment\r\n\r\n  web :  exec python -m http.server ${PORT:-8080}  \r\n",
            [bash("web", "exec python -m http.server ${PORT:-8080}", default=True)],
        ),
        (
            "release: ./release.sh\nclock: python clock.py\n",
            [bash("release", "./release.sh"), bash("clock", "python clock.py")],
        ),
        ("web.v2: a\nweb_2: b\n", [bash("web.v2", "a"), bash("web_2", "b")]),
        (
            "web: echo 'a: b' # not a comment\n",
            [bash("web", "echo 'a: b' # not a comment", default=True)],
        ),
        ("", []),
        ("# only comments\n\n", []),
    ],
    ids=[
        "web",
        "web-and-worker",
        "web-second",
        "lone-worker-is-default",
        "bom-comments-crlf-spaces",
        "no-default",
        "dots-underscores",
        "colons-and-hashes-in-command",
        "empty",
        "only-comments",
    ],
)
def test_parse(text: str, expected: list[Process]) -> None:
    assert parse_procfile(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gunicorn app\n", [ProcfileProblem(1, "gunicorn app", ProblemKind.MALFORMED)]),
        (
            "# c\n: gunicorn\n",
            [ProcfileProblem(2, ": gunicorn", ProblemKind.MALFORMED)],
        ),
        (
            "gunicorn app:app\n",
            [ProcfileProblem(1, "gunicorn app:app", ProblemKind.INVALID_TYPE, "gunicorn app")],
        ),
        (
            "wéb: x\n",
            [ProcfileProblem(1, "wéb: x", ProblemKind.INVALID_TYPE, "wéb")],
        ),
        ("web:\n", [ProcfileProblem(1, "web:", ProblemKind.EMPTY_COMMAND, "web")]),
        ("web:   \n", [ProcfileProblem(1, "web:   ", ProblemKind.EMPTY_COMMAND, "web")]),
        (
            "web: a\n\nweb: b\n",
            [ProcfileProblem(3, "web: b", ProblemKind.DUPLICATE_TYPE, "web", 1)],
        ),
    ],
    ids=["no-colon", "no-type", "command-without-type", "non-ascii-type", "empty", "blank", "dup"],
)
def test_parse_rejects(text: str, expected: list[ProcfileProblem]) -> None:
    with pytest.raises(InvalidProcfile) as caught:
        parse_procfile(text)
    assert list(caught.value.problems) == expected


def test_every_bad_line_is_reported_at_once() -> None:
    text = "web: ok\nbroken\nworker:\nweb: again\n"
    with pytest.raises(InvalidProcfile) as caught:
        parse_procfile(text)
    assert [(p.line_number, p.kind) for p in caught.value.problems] == [
        (2, ProblemKind.MALFORMED),
        (3, ProblemKind.EMPTY_COMMAND),
        (4, ProblemKind.DUPLICATE_TYPE),
    ]
    assert "line 2" in str(caught.value)


def test_read_procfile(tmp_path: Path) -> None:
    assert read_procfile(tmp_path) is None
    (tmp_path / "Procfile").write_text("web: python app.py\n")
    assert read_procfile(tmp_path) == [bash("web", "python app.py", default=True)]


def test_a_directory_named_procfile_is_no_procfile(tmp_path: Path) -> None:
    (tmp_path / "Procfile").mkdir()
    assert read_procfile(tmp_path) is None


def test_symlinked_procfile_counts(tmp_path: Path) -> None:
    (tmp_path / "Procfile.real").write_text("web: x\n")
    (tmp_path / "Procfile").symlink_to("Procfile.real")
    assert read_procfile(tmp_path) == [bash("web", "x", default=True)]


def test_undecodable_procfile_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_bytes(b"web: ok\nworker: caf\xe9\n")
    with pytest.raises(InvalidProcfile) as caught:
        read_procfile(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.line_number, problem.kind) == (2, ProblemKind.NOT_UTF8)
    assert problem.line == "worker: caf\ufffd"


_TYPES = st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True)
_COMMANDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1
).map(str.strip)


@given(st.dictionaries(_TYPES, _COMMANDS.filter(bool), min_size=1, max_size=5))
def test_round_trip(processes: dict[str, str]) -> None:
    text = "".join(f"{name}: {command}\n" for name, command in processes.items())
    parsed = parse_procfile(text)
    assert [(str(p.type), p.command[2]) for p in parsed] == list(processes.items())
    assert sum(p.default for p in parsed) == (1 if "web" in processes or len(processes) == 1 else 0)

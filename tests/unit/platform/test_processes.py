from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.platform.processes import (
    Process,
    ProcessSet,
    process_argv,
    read_launch_metadata,
    write_launch_metadata,
)


def p(kind: str, bp: str, *, default: bool = False) -> Process:
    return Process(kind, (f"{bp}-{kind}",), buildpack_id=bp, default=default)


@pytest.mark.parametrize(
    ("per_buildpack", "types", "default"),
    [
        ([[p("web", "a", default=True)], [p("worker", "b")]], {"web": "a", "worker": "b"}, "web"),
        ([[p("web", "a", default=True)], [p("web", "b")]], {"web": "b"}, None),
        ([[p("web", "a", default=True)], [p("web", "b", default=True)]], {"web": "b"}, "web"),
        ([[p("web", "a", default=True)], [p("w", "b", default=True)]], {"web": "a", "w": "b"}, "w"),
        ([[p("w", "a")], [p("web", "b")]], {"w": "a", "web": "b"}, None),
    ],
    ids=[
        "add",
        "redefine-clears-default",
        "redefine-as-default",
        "last-default-wins",
        "no-default",
    ],
)
def test_process_set(
    per_buildpack: list[list[Process]], types: dict[str, str], default: str | None
) -> None:
    processes = ProcessSet()
    warnings: list[str] = []
    for group in per_buildpack:
        processes.add(group, warnings.append)
    assert {x.type: x.buildpack_id for x in processes.processes} == types
    assert [x.type for x in processes.processes] == sorted(types)
    assert processes.default_type == default


@pytest.mark.parametrize(
    ("command", "args", "user", "argv"),
    [
        (("gunicorn",), ("app:app",), (), ("gunicorn", "app:app")),
        (("gunicorn",), ("app:app",), ("other:app",), ("gunicorn", "other:app")),
        (("python", "-m", "x"), ("--port", "$PORT"), (), ("python", "-m", "x", "--port", "$PORT")),
        (("python", "-m", "x"), ("--a",), ("--b", "c"), ("python", "-m", "x", "--b", "c")),
    ],
)
def test_process_argv(
    command: tuple[str, ...], args: tuple[str, ...], user: tuple[str, ...], argv: tuple[str, ...]
) -> None:
    assert process_argv(Process("t", command, args), user) == argv


def test_launch_metadata_round_trip(tmp_path: Path) -> None:
    processes = ProcessSet()
    processes.add([Process("web", ("run",), ("x",), "sub", "a", default=True)], print)
    path = tmp_path / "metadata.toml"
    write_launch_metadata(
        path, buildpacks=[("a", "1.0.0", "0.10")], processes=processes, labels=[], slices=[]
    )
    metadata = read_launch_metadata(path)
    assert metadata.buildpacks == (("a", "1.0.0", "0.10"),)
    assert metadata.default_type == "web"
    assert metadata.processes["web"] == Process("web", ("run",), ("x",), "sub", "a")

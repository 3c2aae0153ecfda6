"""Each process's program is imported before export; a missing module fails the build."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from pycnb.buildpack.launch.processes import Installed
from pycnb.buildpack.launch.start_check import (
    ProcessCannotStart,
    check_processes_start,
    program_of,
)
from pycnb.buildpack.output import Output
from pycnb.cnb.launch import Process
from pycnb.cnb.names import ProcessType


def process(*command: str, kind: str = "web") -> Process:
    return Process(ProcessType(kind), tuple(command))


@pytest.mark.parametrize(
    ("command", "program"),
    [
        (("sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}"), "gunicorn"),
        (("bash", "-c", "FOO=1 BAR=x exec uvicorn main:app"), "uvicorn"),
        (("bash", "-c", "./bin/start --fast"), "start"),
        (("/usr/bin/bash", "-c", "celery -A x worker && echo"), "celery"),
        (("bash", "-c", "exec"), None),
        (("bash", "-c", "echo 'unbalanced"), None),
        (("myscript",), "myscript"),
    ],
)
def test_program_of(command: tuple[str, ...], program: str | None) -> None:
    assert program_of(process(*command)) == program


def check(tmp_path: Path, module_source: str, out: Output) -> None:
    (tmp_path / "srvpkg").mkdir()
    (tmp_path / "srvpkg" / "__init__.py").write_text(module_source)
    installed = Installed(frozenset({"srvpkg"}), {"srv": "srvpkg:main"})
    check_processes_start(
        [process("sh", "-c", "exec srv --bind :8080"), process("worker-not-a-script")],
        installed,
        python=Path(sys.executable),
        app_dir=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        out=out,
    )


def quiet() -> Output:
    return Output(stdout=io.StringIO(), stderr=io.StringIO())


def test_a_module_that_imports_passes(tmp_path: Path) -> None:
    out = quiet()
    check(tmp_path, "import json\n", out)
    assert "srv (web) imports cleanly" in out.stdout.getvalue()  # type: ignore[attr-defined]


def test_a_missing_module_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(ProcessCannotStart) as raised:
        check(tmp_path, "import pkg_resources_that_is_gone\n", quiet())
    error = raised.value
    assert (error.process_type, error.program, error.module) == ("web", "srv", "srvpkg")
    assert error.missing == "pkg_resources_that_is_gone"
    assert "ModuleNotFoundError" in error.output


def test_another_error_at_import_only_warns(tmp_path: Path) -> None:
    out = quiet()
    check(tmp_path, "import os\nos.environ['DATABASE_URL']\n", out)
    warning = out.stderr.getvalue()  # type: ignore[attr-defined]
    assert "srv (web process) raised an error when imported" in warning
    assert "KeyError" in warning

"""Reading every place an app states its Python version, and the project's constraints."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from pycnb.buildpack.dependencies.pipfile import read_pipfile
from pycnb.buildpack.project import read_pyproject
from pycnb.buildpack.python.errors import (
    ConstraintProblem,
    InvalidProjectFile,
    InvalidPythonVersion,
    InvalidVersionConstraint,
)
from pycnb.buildpack.python.notices import ByteOrderMark, SourceIgnored
from pycnb.buildpack.python.resolve import VersionSources
from pycnb.buildpack.python.sources import (
    parse_project_constraints,
    read_version_sources,
)
from pycnb.buildpack.python.version import (
    LatestPatch,
    MinorVersion,
    PythonVersion,
    RequestForm,
    RequestOrigin,
    VersionConstraint,
    VersionRequest,
)

FILE = RequestOrigin.PYTHON_VERSION_FILE


def specifiers(*alternatives: str) -> VersionConstraint:
    return VersionConstraint(tuple(SpecifierSet(a) for a in alternatives))


# --- pyproject.toml and uv.lock ------------------------------------------------------------


def test_project_constraints_are_all_collected() -> None:
    pyproject = {
        "project": {"requires-python": ">=3.11"},
        "tool": {"poetry": {"dependencies": {"python": "^3.11"}}},
    }
    found = parse_project_constraints(pyproject, {"requires-python": ">=3.11"})
    assert [(r.origin, r.text) for r in found] == [
        (RequestOrigin.REQUIRES_PYTHON, ">=3.11"),
        (RequestOrigin.POETRY_PYTHON, "^3.11"),
        (RequestOrigin.UV_LOCK, ">=3.11"),
    ]


@pytest.mark.parametrize(
    "pyproject",
    [
        {},
        {"project": {"name": "app"}},
        {"project": {"requires-python": "  "}},
        {"tool": {"ruff": {"line-length": 100}}},
        {"tool": {"poetry": {"dependencies": {"flask": "^3"}}}},
        {"tool": {"poetry": "odd"}},
        {"project": "odd"},
    ],
    ids=["empty", "no-requires", "blank", "other-tool", "no-python", "odd-tool", "odd-project"],
)
def test_project_without_constraints(pyproject: dict[str, object]) -> None:
    assert parse_project_constraints(pyproject, None) == ()


@pytest.mark.parametrize(
    ("pyproject", "uv_lock", "origin", "value", "problem"),
    [
        (
            {"project": {"requires-python": "3.11"}},
            None,
            RequestOrigin.REQUIRES_PYTHON,
            "3.11",
            ConstraintProblem.INVALID,
        ),
        (
            {"project": {"requires-python": 3.11}},
            None,
            RequestOrigin.REQUIRES_PYTHON,
            "3.11",
            ConstraintProblem.NOT_A_STRING,
        ),
        (
            {"tool": {"poetry": {"dependencies": {"python": "^3.x"}}}},
            None,
            RequestOrigin.POETRY_PYTHON,
            "^3.x",
            ConstraintProblem.INVALID,
        ),
        (
            {"tool": {"poetry": {"dependencies": {"python": {"version": "^3.11"}}}}},
            None,
            RequestOrigin.POETRY_PYTHON,
            "{'version': '^3.11'}",
            ConstraintProblem.NOT_A_STRING,
        ),
        (
            None,
            {"requires-python": ">=3.11.*"},
            RequestOrigin.UV_LOCK,
            ">=3.11.*",
            ConstraintProblem.INVALID,
        ),
    ],
    ids=["requires-not-pep440", "requires-number", "poetry-bad", "poetry-table", "uv-lock-bad"],
)
def test_project_constraint_errors(
    pyproject: dict[str, object] | None,
    uv_lock: dict[str, object] | None,
    origin: RequestOrigin,
    value: str,
    problem: ConstraintProblem,
) -> None:
    with pytest.raises(InvalidVersionConstraint) as error:
        parse_project_constraints(pyproject, uv_lock)
    assert (error.value.origin, error.value.value, error.value.problem) == (origin, value, problem)


# --- Reading: order of the sources ---------------------------------------------------------


def write(app: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (app / name).write_bytes(data)
    return app


PYPROJECT = '[project]\nname = "app"\nrequires-python = ">=3.11"\n'


def read(app: Path, setting: str | None) -> VersionSources:
    # As the build does: pyproject.toml and the Pipfile are read once, by their readers.
    return read_version_sources(app, setting, read_pyproject(app), read_pipfile(app))


@pytest.mark.parametrize(
    ("files", "setting", "origin", "text", "notices"),
    [
        ({}, None, None, None, []),
        ({".python-version": "3.12\n"}, None, FILE, "3.12", []),
        ({"runtime.txt": "python-3.12.1\n"}, None, RequestOrigin.RUNTIME_TXT, "python-3.12.1", []),
        (
            {".python-version": "3.12\n", "runtime.txt": "python-3.11.4"},
            None,
            FILE,
            "3.12",
            [SourceIgnored(RequestOrigin.RUNTIME_TXT, FILE)],
        ),
        (
            {".python-version": "3.12\n", "runtime.txt": "garbage"},
            None,
            FILE,
            "3.12",
            [SourceIgnored(RequestOrigin.RUNTIME_TXT, FILE)],
        ),
        (
            {".python-version": "not read"},
            "3.13",
            RequestOrigin.BP_PYTHON_VERSION,
            "3.13",
            [SourceIgnored(FILE, RequestOrigin.BP_PYTHON_VERSION)],
        ),
        (
            {".python-version": b"\xef\xbb\xbf3.12\n"},
            None,
            FILE,
            "3.12",
            [ByteOrderMark(FILE)],
        ),
        ({"pyproject.toml": PYPROJECT}, None, None, None, []),
    ],
    ids=[
        "nothing",
        "python-version",
        "runtime-txt",
        "python-version-wins",
        "broken-runtime-txt-unread",
        "setting-wins",
        "bom",
        "pyproject-only",
    ],
)
def test_read_version_sources(  # noqa: PLR0917 - one argument per table column
    tmp_path: Path,
    files: dict[str, str | bytes],
    setting: str | None,
    origin: RequestOrigin | None,
    text: str | None,
    notices: list[object],
) -> None:
    sources = read(write(tmp_path, files), setting)
    if origin is None:
        assert sources.explicit is None
    else:
        assert sources.explicit is not None
        assert (sources.explicit.origin, sources.explicit.text) == (origin, text)
    assert list(sources.notices) == notices


def test_project_constraints_are_read_even_with_an_explicit_version(tmp_path: Path) -> None:
    app = write(tmp_path, {".python-version": "3.12", "pyproject.toml": PYPROJECT})
    sources = read(app, None)
    assert [r.text for r in sources.project] == [">=3.11"]


def test_uv_lock_is_read(tmp_path: Path) -> None:
    app = write(tmp_path, {"uv.lock": 'version = 1\nrequires-python = ">=3.12"\n'})
    [request] = read(app, None).project
    assert request == VersionRequest(
        RequestOrigin.UV_LOCK, ">=3.12", specifiers(">=3.12"), RequestForm.SPECIFIER
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    # A broken pyproject.toml is the project reader's: test_pyproject_and_groups.py.
    [("uv.lock", "requires-python = \n", "line 1")],
)
def test_unreadable_project_files(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    with pytest.raises(InvalidProjectFile) as error:
        read(write(tmp_path, {name: content}), None)
    assert error.value.file == name
    assert reason in error.value.reason


def test_runtime_txt_errors_name_runtime_txt(tmp_path: Path) -> None:
    with pytest.raises(InvalidPythonVersion) as error:
        read(write(tmp_path, {"runtime.txt": "python-3.12-slim"}), None)
    assert error.value.origin is RequestOrigin.RUNTIME_TXT


def test_a_version_file_linked_from_inside_the_app_is_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "python-version").write_text("3.12\n")
    (tmp_path / ".python-version").symlink_to("config/python-version")
    sources = read_version_sources(tmp_path, None, None)
    assert sources.explicit is not None
    assert sources.explicit.text == "3.12"


@pytest.mark.parametrize("name", [".python-version", "runtime.txt"])
def test_a_dangling_version_file_link_is_an_error(tmp_path: Path, name: str) -> None:
    # A monorepo service linking the repo's file: only the service is built, so it dangles.
    (tmp_path / name).symlink_to("../.python-version")
    with pytest.raises(InvalidProjectFile) as error:
        read_version_sources(tmp_path, None, None)
    assert error.value.file == name
    assert "symbolic link to ../.python-version" in error.value.reason
    assert "copy the file into the app" in error.value.reason


def test_a_directory_named_like_a_version_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".python-version").mkdir()
    with pytest.raises(InvalidProjectFile) as error:
        read_version_sources(tmp_path, None, None)
    assert "it is a directory" in error.value.reason


def test_cloud_foundry_wildcard_in_runtime_txt(tmp_path: Path) -> None:
    sources = read_version_sources(write(tmp_path, {"runtime.txt": "python-3.10.x\n"}), None, None)
    assert sources.explicit is not None
    assert sources.explicit.spec == LatestPatch(MinorVersion(3, 10))
    assert sources.explicit.origin is RequestOrigin.RUNTIME_TXT


@pytest.mark.parametrize(
    ("pipfile", "origin", "allowed", "refused"),
    [
        ('[requires]\npython_version = "3.11"\n', RequestOrigin.PIPFILE_PYTHON, "3.11.7", "3.12.1"),
        (
            '[requires]\npython_full_version = "3.12.1"\n',
            RequestOrigin.PIPFILE_FULL_PYTHON,
            "3.12.1",
            "3.12.2",
        ),
    ],
)
def test_pipfile_requires_python_is_a_project_constraint(
    tmp_path: Path, pipfile: str, origin: RequestOrigin, allowed: str, refused: str
) -> None:
    sources = read(write(tmp_path, {"Pipfile": pipfile}), None)
    [request] = sources.project
    assert request.origin is origin
    assert request.allows(PythonVersion.parse(allowed))
    assert not request.allows(PythonVersion.parse(refused))


@pytest.mark.parametrize("value", ['"*"', '""'])
def test_pipfile_any_python_is_no_constraint(tmp_path: Path, value: str) -> None:
    app = write(tmp_path, {"Pipfile": f"[requires]\npython_version = {value}\n"})
    assert read(app, None).project == ()


@pytest.mark.parametrize("value", ['"3.11-slim"', "3.11", '"latest"'])
def test_pipfile_python_that_is_not_a_version(tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidVersionConstraint) as error:
        read(write(tmp_path, {"Pipfile": f"[requires]\npython_version = {value}\n"}), None)
    assert error.value.origin is RequestOrigin.PIPFILE_PYTHON

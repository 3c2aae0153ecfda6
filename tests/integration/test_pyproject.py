"""pyproject.toml without a lockfile (pip installs the project), and the files pycnb refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Locker, PackageIndex, Pycnb, assert_clean_error, imports


def find_links(index: PackageIndex) -> dict[str, str]:
    # The wheelhouse plus the group-only packages and the build backend pip needs for `.`.
    return {"PIP_FIND_LINKS": str(index.files)}


@pytest.mark.app("pyproject_basic")
def test_project_is_installed_non_editably_and_never_reused(
    pycnb: Pycnb, app: Path, package_index: PackageIndex
) -> None:
    first = pycnb.build(app, env=find_links(package_index))
    assert first.returncode == 0, first
    assert "Using pip (pyproject.toml)" in first.output
    assert "[WARNING] No lockfile: the dependencies are resolved afresh on every build" in (
        first.output
    )
    assert "Installing the project from pyproject.toml with pip..." in first.output
    where = pycnb.run(
        app,
        "sh",
        "-c",
        "cd / && python -c 'import pyproject_app as m; print(m.__file__, m.GREETING)'",
    )
    assert where.returncode == 0, where
    assert "/venv/lib/" in where.output, "installed into the venv, not imported from the app dir"
    assert "pyproject app with beta 1.0" in where.output
    assert not list((pycnb.layers / "venv").rglob("*.pth")), "not an editable install"
    assert not imports(pycnb, app, "pycnb_devtool")

    # The app's own code is an input pycnb does not track: every build starts afresh, and says why.
    second = pycnb.build(app, env=find_links(package_index))
    assert second.returncode == 0, second
    assert (
        "Rebuilding the virtual environment since:\n"
        "  - pip installs the app itself from pyproject.toml, so its code is an input"
    ) in second.output, second


@pytest.mark.app("pyproject_basic")
def test_extras_and_dependency_groups(pycnb: Pycnb, app: Path, package_index: PackageIndex) -> None:
    env = {**find_links(package_index), "BP_PYTHON_GROUPS": "fast,dev"}
    result = pycnb.build(app, env=env)
    assert result.returncode == 0, result
    assert imports(pycnb, app, "pycnb_gamma"), "the extra, as .[fast]"
    assert imports(pycnb, app, "pycnb_devtool"), "the PEP 735 group, as --group dev"

    unknown = pycnb.build(app, env={**env, "BP_PYTHON_GROUPS": "test"})
    assert_clean_error(unknown, "Unknown dependency group in BP_PYTHON_GROUPS: test")


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ("[tool.poetry]\n", ["[ERROR] poetry.lock is missing", "Run `poetry lock`"]),
        ("[tool.uv]\n", ["[ERROR] uv.lock is missing", "Run `uv lock`"]),
        ("[tool.pdm]\n", ["[ERROR] pdm.lock is missing", "Run `pdm lock`"]),
    ],
    ids=["poetry", "uv", "pdm"],
)
def test_a_tool_project_without_its_lockfile(
    pycnb: Pycnb, tmp_path: Path, table: str, fragments: list[str]
) -> None:
    app = tmp_path / "tool-app"
    app.mkdir()
    (app / "pyproject.toml").write_text(f'[project]\nname = "x"\nversion = "0"\n{table}')
    assert_clean_error(pycnb.build(app), *fragments)


@pytest.mark.parametrize(
    ("files", "fragments"),
    [
        (["Pipfile"], ["[ERROR] Pipfile.lock is missing", "Run `pipenv lock`"]),
    ],
    ids=["pipfile"],
)
def test_unsupported_managers_explain_how_to_move(
    pycnb: Pycnb, tmp_path: Path, files: list[str], fragments: list[str]
) -> None:
    app = tmp_path / "unsupported-app"
    app.mkdir()
    for name in files:
        (app / name).write_text('[project]\nname = "x"\n' if name == "pyproject.toml" else "")
    assert_clean_error(pycnb.build(app), *fragments)


@pytest.mark.app("uv_basic")
def test_broken_pyproject_is_reported_with_its_line(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.uv(app)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[broken\n")
    assert_clean_error(pycnb.build(app), "pyproject.toml", "line")

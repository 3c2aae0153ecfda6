from pathlib import Path

import pytest

from pycnb.buildpack.checks import FORBIDDEN_ENV_VARS, ForbiddenEnvVars, check_environment
from pycnb.buildpack.dependencies.package_manager import (
    LockfileMissing,
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PipfileMissing,
    determine_package_manager,
)
from pycnb.buildpack.detect import detected_files
from pycnb.buildpack.project import read_pyproject


def test_every_forbidden_var_is_reported_with_a_reason() -> None:
    env = {"PYTHONHOME": "/x", "PIP_TARGET": "/y", "PIP_INDEX_URL": "https://ok", "HOME": "/h"}
    with pytest.raises(ForbiddenEnvVars) as error:
        check_environment(env)
    assert [name for name, _ in error.value.found] == ["PIP_TARGET", "PYTHONHOME"]
    assert all(why for _, why in error.value.found)


def test_user_settings_pass() -> None:
    check_environment({"PIP_INDEX_URL": "https://x", "PIP_EXTRA_INDEX_URL": "y", "BP_X": "1"})


@pytest.mark.parametrize(
    "name",
    [
        "VIRTUAL_ENV",
        "PIP_PYTHON",
        "PIP_PREFIX",
        "PIP_USER",
        "PYTHONUSERBASE",
        "PIP_CACHE_DIR",
        "UV_PROJECT_ENVIRONMENT",
        "POETRY_VIRTUALENVS_CREATE",
        "POETRY_CONFIG_DIR",
        "UV_DEV",
        "UV_NO_EDITABLE",
    ],
)
def test_issue_examples_are_forbidden(name: str) -> None:
    assert name in FORBIDDEN_ENV_VARS


def touch(app: Path, *names: str) -> None:
    for name in names:
        (app / name).write_text("")


def determine(app: Path) -> PackageManager:
    return determine_package_manager(app, read_pyproject(app))


def test_requirements_txt_means_pip(tmp_path: Path) -> None:
    touch(tmp_path, "requirements.txt", "pyproject.toml")
    assert determine(tmp_path) is PackageManager.PIP


def test_several_package_managers_are_all_listed(tmp_path: Path) -> None:
    touch(tmp_path, "requirements.txt", "poetry.lock", "uv.lock")
    with pytest.raises(MultiplePackageManagers) as error:
        determine(tmp_path)
    assert error.value.found == [PackageManager.PIP, PackageManager.POETRY, PackageManager.UV]


@pytest.mark.parametrize(
    ("lockfile", "expected"),
    [("uv.lock", PackageManager.UV), ("poetry.lock", PackageManager.POETRY)],
)
def test_a_lockfile_names_its_manager(
    tmp_path: Path, lockfile: str, expected: PackageManager
) -> None:
    touch(tmp_path, lockfile, "pyproject.toml")
    assert determine(tmp_path) is expected


def test_a_pipfile_lock_with_its_pipfile_is_pipenv(tmp_path: Path) -> None:
    touch(tmp_path, "Pipfile", "Pipfile.lock")
    assert determine(tmp_path) is PackageManager.PIPENV


def test_a_pipfile_without_its_lock_names_pipenv_lock(tmp_path: Path) -> None:
    touch(tmp_path, "Pipfile")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(LockfileMissing) as error:
        determine(tmp_path)
    assert error.value.tools == [("Pipenv", "Pipfile.lock")]
    assert error.value.found_in == "Pipfile"


def test_a_pipfile_lock_without_its_pipfile_fails(tmp_path: Path) -> None:
    touch(tmp_path, "Pipfile.lock")
    with pytest.raises(PipfileMissing):
        determine(tmp_path)


def test_a_pdm_project_without_its_lock_names_pdm_lock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.pdm]\n')
    with pytest.raises(LockfileMissing) as error:
        determine(tmp_path)
    assert error.value.tools == [("PDM", "pdm.lock")]


def test_no_package_manager_suggests_lookalikes(tmp_path: Path) -> None:
    touch(tmp_path, "requirement.txt", "pyproject.toml")
    with pytest.raises(NoPackageManager) as error:
        determine(tmp_path)
    assert error.value.lookalikes == ["requirement.txt"]
    assert error.value.has_pyproject


def test_a_pep_621_project_without_lockfile_is_installed_with_pip(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["a"]\n')
    assert determine(tmp_path) is PackageManager.PYPROJECT
    assert PackageManager.PYPROJECT.tool == "pip"
    assert PackageManager.PYPROJECT.file_name == "pyproject.toml"


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("[tool.poetry]\n", [("Poetry", "poetry.lock")]),
        ('[project]\nname = "x"\n[tool.uv]\npackage = false\n', [("uv", "uv.lock")]),
        ("[tool.pdm]\n", [("PDM", "pdm.lock")]),
        ("[tool.uv]\n[tool.poetry]\n", [("Poetry", "poetry.lock"), ("uv", "uv.lock")]),
    ],
)
def test_a_tool_project_without_its_lockfile(
    tmp_path: Path, tables: str, expected: list[tuple[str, str]]
) -> None:
    (tmp_path / "pyproject.toml").write_text(tables)
    with pytest.raises(LockfileMissing) as error:
        determine(tmp_path)
    assert error.value.tools == expected


def test_pyproject_without_project_table_is_no_package_manager(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    with pytest.raises(NoPackageManager) as error:
        determine(tmp_path)
    assert error.value.has_pyproject


@pytest.mark.parametrize(
    "name",
    [
        "requirements.txt",
        "pyproject.toml",
        "manage.py",
        "runtime.txt",
        "Pipfile",
        "requirments.txt",
        ".python-version",
        "uv.lock",
    ],
)
def test_detect_recognises_python_projects(tmp_path: Path, name: str) -> None:
    touch(tmp_path, name)
    assert detected_files(tmp_path) == [name]


def test_detect_ignores_other_projects(tmp_path: Path) -> None:
    touch(tmp_path, "package.json", "go.mod", "index.html")
    assert detected_files(tmp_path) == []

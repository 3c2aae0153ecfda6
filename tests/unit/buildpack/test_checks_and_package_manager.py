from pathlib import Path

import pytest

from pycnb.buildpack.checks import FORBIDDEN_ENV_VARS, ForbiddenEnvVars, check_environment
from pycnb.buildpack.detect import detected_files
from pycnb.buildpack.package_manager import (
    MultiplePackageManagers,
    NoPackageManager,
    PackageManager,
    PackageManagerNotYetSupported,
    UnsupportedPackageManager,
    determine_package_manager,
)


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
    ],
)
def test_issue_examples_are_forbidden(name: str) -> None:
    assert name in FORBIDDEN_ENV_VARS


def touch(app: Path, *names: str) -> None:
    for name in names:
        (app / name).write_text("")


def test_requirements_txt_means_pip(tmp_path: Path) -> None:
    touch(tmp_path, "requirements.txt", "pyproject.toml")
    assert determine_package_manager(tmp_path) is PackageManager.PIP


def test_several_package_managers_are_all_listed(tmp_path: Path) -> None:
    touch(tmp_path, "requirements.txt", "poetry.lock", "uv.lock")
    with pytest.raises(MultiplePackageManagers) as error:
        determine_package_manager(tmp_path)
    assert error.value.found == [PackageManager.PIP, PackageManager.POETRY, PackageManager.UV]


def test_lockfile_of_a_manager_not_supported_yet(tmp_path: Path) -> None:
    touch(tmp_path, "uv.lock")
    with pytest.raises(PackageManagerNotYetSupported):
        determine_package_manager(tmp_path)


def test_pipfile_is_unsupported(tmp_path: Path) -> None:
    touch(tmp_path, "Pipfile")
    with pytest.raises(UnsupportedPackageManager) as error:
        determine_package_manager(tmp_path)
    assert error.value.tool == "Pipenv"


def test_no_package_manager_suggests_lookalikes(tmp_path: Path) -> None:
    touch(tmp_path, "requirement.txt", "pyproject.toml")
    with pytest.raises(NoPackageManager) as error:
        determine_package_manager(tmp_path)
    assert error.value.lookalikes == ["requirement.txt"]
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

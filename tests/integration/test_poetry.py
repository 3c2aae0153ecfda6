"""Poetry apps end to end: lockfile-exact installs, the skip on rebuild, syncs, groups, errors.

Each test writes a real poetry.lock with the pinned Poetry against the session's local index
(an explicit `primary` source: Poetry's default PyPI source needs an API this machine cannot
reach), then builds offline through the local platform.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import POETRY_VERSION
from pycnb.buildpack.dependencies.tool_wheels import pinned_wheel
from tests.integration.conftest import (
    Locker,
    Pycnb,
    assert_clean_error,
    assert_launch_image_is_installer_free,
    imports,
)

pytestmark = pytest.mark.app("poetry_basic")


def test_build_skip_on_rebuild_and_sync_after_a_lock_change(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.poetry(app)
    first = pycnb.build(app)
    assert first.returncode == 0, first
    assert "Traceback" not in first.output
    for line in [
        "Using Poetry (poetry.lock)",
        f"Installing Poetry {POETRY_VERSION}...",
        "Installing dependencies from poetry.lock with Poetry...",
        "Running: poetry sync --only main",
    ]:
        assert line in first.output, first
    assert "Installing pip" not in first.output, "a Poetry app needs no pip layer"
    ran = pycnb.run(app, "python", "app.py")
    assert ran.output == "alpha 2.0 beta 1.0\n", ran
    assert not imports(pycnb, app, "pycnb_devtool"), "the dev group stays out by default"
    assert not imports(pycnb, app, "poetry"), "Poetry is not in the app's environment"

    second = pycnb.build(app)
    assert second.returncode == 0, second
    for line in [
        f"Using cached Poetry {POETRY_VERSION}",
        "Using the cached virtual environment: its inputs have not changed",
        "Skipping poetry sync",
    ]:
        assert line in second.output, second
    assert "Installing" not in second.output

    # The lock drops pycnb-beta: the venv is kept and synced, and beta is gone.
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-alpha==1.0"]'))
    locker.poetry(app)
    third = pycnb.build(app)
    assert third.returncode == 0, third
    assert "Updating the cached virtual environment since:" in third.output, third
    assert "  - The lockfile (poetry.lock) changed" in third.output
    assert "Removing pycnb-beta" in third.output
    assert not imports(pycnb, app, "pycnb_beta")
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "1.0\n", ran


def test_groups_and_extras_from_bp_python_groups(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.poetry(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "dev,fast"})
    assert result.returncode == 0, result
    assert "Running: poetry sync --only main,dev --extras fast" in result.output, result
    assert imports(pycnb, app, "pycnb_devtool")
    assert imports(pycnb, app, "pycnb_gamma")


def test_unknown_group_fails_before_installing(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.poetry(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "docs"})
    assert_clean_error(
        result,
        "Unknown dependency group in BP_PYTHON_GROUPS: docs",
        "dependency groups: dev; extras: fast",
    )
    assert "Installing Poetry" not in result.output


def test_outdated_lock_says_run_poetry_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.poetry(app)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-beta", "pycnb-gamma"]')
    )
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] poetry.lock is out of date",
        "Poetry said:",
        "changed significantly since poetry.lock was last generated",
        "Run `poetry lock` and commit the updated poetry.lock.",
    )


def test_python_outside_the_projects_constraint_fails_clearly(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('">=3.11"', '">=3.11,<3.13"'))
    locker.poetry(app)
    (app / ".python-version").write_text("3.13\n")
    result = pycnb.build(app)
    assert_clean_error(result, "3.13", "<3.13")


def test_poetry_project_without_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.point_at_index(app)
    result = pycnb.build(app)
    assert_clean_error(
        result, "[ERROR] poetry.lock is missing", "[tool.poetry]", "Run `poetry lock`"
    )


def test_launch_image_holds_no_installer_and_pycs_stay_valid(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.poetry(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert_launch_image_is_installer_free(pycnb, app, "pycnb_beta")


def test_poetry_missing_from_the_index_fails_clearly_and_the_next_build_recovers(
    pycnb: Pycnb, app: Path, locker: Locker, tmp_path: Path
) -> None:
    locker.poetry(app)
    # A mirror with uv (which installs Poetry) but without Poetry.
    only_uv = tmp_path / "only-uv"
    only_uv.mkdir()
    uv_wheel = pinned_wheel("uv").file
    shutil.copy(Path(pycnb.user_env["PIP_FIND_LINKS"]) / uv_wheel, only_uv / uv_wheel)
    failed = pycnb.build(app, env={"PIP_FIND_LINKS": str(only_uv)})
    assert_clean_error(
        failed,
        "[ERROR] Installing Poetry failed",
        "uv said:",
        f"installing `poetry=={POETRY_VERSION}` and its locked dependencies exited with status",
        "PIP_INDEX_URL",
    )
    assert "Installing dependencies from poetry.lock" not in failed.output

    # The failed build cached nothing, and its half-made venv is not mistaken for Poetry.
    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert f"Installing Poetry {POETRY_VERSION}..." in again.output
    assert pycnb.run(app, "python", "app.py").output == "alpha 2.0 beta 1.0\n"


def test_a_package_mode_project_without_its_package_gets_its_dependencies(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    # An app template: package mode on (the default), but no `poetry_basic/` package.
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("package-mode = false\n", ""))
    locker.poetry(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "[WARNING] The app's own package could not be installed" in result.output, result
    assert "No file/folder found for package poetry-basic" in result.output
    assert "Running: poetry sync --only main --no-root" in result.output
    assert pycnb.run(app, "python", "app.py").output == "alpha 2.0 beta 1.0\n"

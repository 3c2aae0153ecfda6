"""Pipenv apps end to end: lockfile-exact installs, the skip on rebuild, syncs, categories, errors.

Each test writes a real Pipfile.lock with the pinned Pipenv against the session's local index,
then builds offline through the local platform.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import PIPENV_VERSION
from tests.integration.conftest import (
    Locker,
    Pycnb,
    assert_clean_error,
    assert_launch_image_is_installer_free,
    imports,
)

pytestmark = pytest.mark.app("pipenv_basic")


def local_index(locker: Locker, **more: str) -> dict[str, str]:
    """The build's env for Pipenv's pip: the tests' PIP_NO_INDEX applies to it too (as a user's
    PIP_* settings would), so it finds every file of the local index as links."""
    return {"PIP_FIND_LINKS": str(locker.index.files), **more}


def test_build_skip_on_rebuild_and_sync_after_a_lock_change(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.pipenv(app)
    first = pycnb.build(app)
    assert first.returncode == 0, first
    assert "Traceback" not in first.output
    for line in [
        "Using Pipenv (Pipfile.lock)",
        f"Installing Pipenv {PIPENV_VERSION}...",
        "Installing dependencies from Pipfile.lock with Pipenv...",
        "Running: pipenv verify",
        "Running: pipenv sync --clean",
    ]:
        assert line in first.output, first
    assert "Installing pip" not in first.output, "a Pipenv app needs no pip layer"
    ran = pycnb.run(app, "python", "app.py")
    assert ran.output == "alpha 2.0 beta 1.0\n", ran
    assert not imports(pycnb, app, "pycnb_devtool"), "dev-packages stay out by default"
    assert not imports(pycnb, app, "pipenv"), "Pipenv is not in the app's environment"

    second = pycnb.build(app)
    assert second.returncode == 0, second
    for line in [
        f"Using cached Pipenv {PIPENV_VERSION}",
        "Using the cached virtual environment: its inputs have not changed",
        "Skipping pipenv sync",
    ]:
        assert line in second.output, second
    assert "Installing" not in second.output

    # The lock drops pycnb-beta: the venv is kept and synced, and beta is gone.
    pipfile = app / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('pycnb-beta = "*"', 'pycnb-alpha = "==1.0"'))
    locker.pipenv(app)
    third = pycnb.build(app)
    assert third.returncode == 0, third
    assert "Updating the cached virtual environment since:" in third.output, third
    assert "  - The lockfile (Pipfile.lock) changed" in third.output
    assert not imports(pycnb, app, "pycnb_beta")
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "1.0\n", ran


def test_categories_from_bp_python_groups(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pipenv(app)
    result = pycnb.build(app, env=local_index(locker, BP_PYTHON_GROUPS="develop,fast"))
    assert result.returncode == 0, result
    assert "Running: pipenv sync --clean --categories packages,dev-packages,fast" in result.output
    assert imports(pycnb, app, "pycnb_devtool")
    assert imports(pycnb, app, "pycnb_gamma")

    # Dropping a category starts afresh: `sync --clean` alone would keep what it added.
    again = pycnb.build(app, env=local_index(locker, BP_PYTHON_GROUPS="fast"))
    assert again.returncode == 0, again
    assert "Rebuilding the virtual environment since:" in again.output, again
    assert not imports(pycnb, app, "pycnb_devtool")
    assert imports(pycnb, app, "pycnb_gamma")


def test_unknown_category_fails_before_installing(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pipenv(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "docs"})
    assert_clean_error(
        result,
        "Unknown dependency group in BP_PYTHON_GROUPS: docs",
        "dependency groups: dev-packages, fast",
    )
    assert "Installing Pipenv" not in result.output


def test_outdated_lock_says_run_pipenv_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pipenv(app)
    pipfile = app / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('pycnb-beta = "*"', 'pycnb-beta = "==1.0"'))
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] Pipfile.lock is out of date",
        "Pipenv said:",
        "Pipfile.lock is out-of-date",
        "Run `pipenv lock` and commit the updated Pipfile.lock.",
    )


def test_pipfile_without_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.point_at_index(app)
    result = pycnb.build(app)
    assert_clean_error(result, "[ERROR] Pipfile.lock is missing", "Run `pipenv lock`")


def test_launch_image_holds_no_installer_and_pycs_stay_valid(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.pipenv(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert_launch_image_is_installer_free(pycnb, app, "pycnb_beta")


def test_lock_format_pipfile_spec_6(locker: Locker, app: Path) -> None:
    """The pinned Pipenv still writes spec 6, the format real repositories carry."""
    locker.pipenv(app)
    meta = json.loads((app / "Pipfile.lock").read_text())["_meta"]
    assert meta["pipfile-spec"] == 6

"""PDM apps end to end: lockfile-exact installs, the skip on rebuild, syncs, groups, errors.

Each test writes a real pdm.lock with the pinned PDM against the session's local index (every
group locked, as `pdm lock -G :all` does), then builds offline through the local platform.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import PDM_VERSION
from tests.integration.conftest import (
    Locker,
    Pycnb,
    assert_clean_error,
    assert_launch_image_is_installer_free,
    imports,
)

pytestmark = pytest.mark.app("pdm_basic")


def test_build_skip_on_rebuild_and_sync_after_a_lock_change(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.pdm(app)
    first = pycnb.build(app)
    assert first.returncode == 0, first
    assert "Traceback" not in first.output
    for line in [
        "Using PDM (pdm.lock)",
        f"Installing PDM {PDM_VERSION}...",
        "Installing dependencies from pdm.lock with PDM...",
        "Running: pdm lock --check",
        "Running: pdm sync --prod --only-keep --no-editable --no-self",
    ]:
        assert line in first.output, first
    assert "Installing pip" not in first.output, "a PDM app needs no pip layer"
    ran = pycnb.run(app, "python", "app.py")
    assert ran.output == "alpha 2.0 beta 1.0\n", ran
    assert not imports(pycnb, app, "pycnb_devtool"), "the dev group stays out by default"
    assert not imports(pycnb, app, "pdm"), "PDM is not in the app's environment"
    assert not (app / ".pdm-python").exists()

    second = pycnb.build(app)
    assert second.returncode == 0, second
    for line in [
        f"Using cached PDM {PDM_VERSION}",
        "Using the cached virtual environment: its inputs have not changed",
        "Skipping pdm sync",
    ]:
        assert line in second.output, second
    assert "Installing" not in second.output

    # The lock drops pycnb-beta: the venv is kept and synced, and beta is gone.
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-alpha==1.0"]'))
    locker.pdm(app)
    third = pycnb.build(app)
    assert third.returncode == 0, third
    assert "Updating the cached virtual environment since:" in third.output, third
    assert "  - The lockfile (pdm.lock) changed" in third.output
    assert not imports(pycnb, app, "pycnb_beta")
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "1.0\n", ran


def test_groups_and_extras_from_bp_python_groups(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pdm(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "dev,fast"})
    assert result.returncode == 0, result
    assert "Running: pdm sync --only-keep --no-editable --no-self -G dev -G fast" in result.output
    assert imports(pycnb, app, "pycnb_devtool")
    assert imports(pycnb, app, "pycnb_gamma")

    # Dropping them syncs the kept venv down to production (`--only-keep`).
    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert "Updating the cached virtual environment since:" in again.output, again
    assert not imports(pycnb, app, "pycnb_devtool")
    assert not imports(pycnb, app, "pycnb_gamma")


def test_unknown_group_fails_before_installing(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pdm(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "docs"})
    assert_clean_error(
        result,
        "Unknown dependency group in BP_PYTHON_GROUPS: docs",
        "dependency groups: dev; extras: fast",
    )
    assert "Installing PDM" not in result.output


def test_outdated_lock_says_run_pdm_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.pdm(app)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-beta", "pycnb-gamma"]')
    )
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] pdm.lock is out of date",
        "PDM said:",
        "Lockfile doesn't satisfy the project requirements",
        "Run `pdm lock` and commit the updated pdm.lock.",
    )


def test_pdm_project_without_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.point_at_index(app)
    result = pycnb.build(app)
    assert_clean_error(result, "[ERROR] pdm.lock is missing", "[tool.pdm]", "Run `pdm lock`")


def test_launch_image_holds_no_installer_and_pycs_stay_valid(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.pdm(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert_launch_image_is_installer_free(pycnb, app, "pycnb_beta")


def test_lock_format_4_5(locker: Locker, app: Path) -> None:
    """The pinned PDM writes lock_version 4.5.x; older 4.x locks are tested in test_old_locks."""
    locker.pdm(app)
    metadata = tomllib.loads((app / "pdm.lock").read_text())["metadata"]
    assert metadata["lock_version"].startswith("4.")


def test_a_package_is_installed_itself_not_editable_and_never_reused(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        .replace("distribution = false", "distribution = true")
        .replace('version = "0"', 'version = "0"\ndescription = "The app as a package"')
        + '\n[build-system]\nrequires = ["flit_core>=3.4"]\nbuild-backend = "flit_core.buildapi"\n'
    )
    (app / "pdm_basic.py").write_text('"""The app as a package."""\n\n__version__ = "0"\n')
    locker.pdm(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "Running: pdm sync --prod --only-keep --no-editable\n" in result.output, result
    site = next((pycnb.layers / "venv").glob("lib/python3.*/site-packages"))
    assert (site / "pdm_basic.py").is_file(), "a copy of the app, not a link to the source"

    # The installed copy of the app is not tracked, so the venv is never reused.
    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert "PDM installs the app itself" in again.output, again

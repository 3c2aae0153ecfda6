"""uv apps end to end: lockfile-exact installs, the skip on rebuild, syncs, groups and errors.

Each test writes a real uv.lock with the pinned uv against the session's local index, then builds
offline through the local platform.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pycnb.buildpack.dependencies.tool_versions import UV_VERSION
from pycnb.buildpack.dependencies.tool_wheels import pinned_wheel
from tests.integration.conftest import (
    Locker,
    Pycnb,
    assert_clean_error,
    assert_launch_image_is_installer_free,
    imports,
)

pytestmark = pytest.mark.app("uv_basic")


def test_build_skip_on_rebuild_and_sync_after_a_lock_change(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.uv(app)
    first = pycnb.build(app)
    assert first.returncode == 0, first
    assert "Traceback" not in first.output
    for line in [
        "Using uv (uv.lock)",
        f"Installing uv {UV_VERSION}...",
        "Installing dependencies from uv.lock with uv...",
        "Running: uv sync --locked --no-default-groups",
    ]:
        assert line in first.output, first
    assert "Installing pip" not in first.output, "a uv app needs no pip layer"
    ran = pycnb.run(app, "python", "app.py")
    assert ran.output == "alpha 2.0 beta 1.0\n", ran
    assert not imports(pycnb, app, "pycnb_devtool"), "the dev group stays out by default"
    assert not imports(pycnb, app, "pycnb_gamma"), "extras stay out by default"

    # Nothing changed: uv does not even run.
    second = pycnb.build(app)
    assert second.returncode == 0, second
    for line in [
        f"Using cached uv {UV_VERSION}",
        "Using the cached virtual environment: its inputs have not changed",
        "Skipping uv sync",
    ]:
        assert line in second.output, second
    assert "Installing" not in second.output
    assert "Running: uv" not in second.output
    assert "cached pip" not in second.output

    # The lock drops pycnb-beta: the venv is kept and synced, and beta is gone.
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-alpha==1.0"]'))
    locker.uv(app)
    third = pycnb.build(app)
    assert third.returncode == 0, third
    assert "Updating the cached virtual environment since:" in third.output, third
    assert "  - The lockfile (uv.lock) changed" in third.output
    assert "Running: uv sync --locked --no-default-groups" in third.output
    assert not imports(pycnb, app, "pycnb_beta")
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "1.0\n", ran


def test_the_venv_owns_the_files_uv_linked_from_its_scratch_cache(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.uv(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert not (pycnb.layers / "uv-cache").exists(), "uv's cache is not in the image"
    assert not list(pycnb.root.glob("cache/**/uv-cache")), "nor kept for the next build"
    installed = (pycnb.layers / "venv").glob("lib/python*/site-packages/pycnb_alpha/*.py")
    module = next(installed)
    # Linked from uv's cache, which is gone: only the image and the venv's own cache copy (the
    # local platform links cached launch layers) hold the inode.
    assert module.stat().st_nlink <= 2, module


def test_groups_and_extras_from_bp_python_groups(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.uv(app)
    with_groups = pycnb.build(app, env={"BP_PYTHON_GROUPS": "dev, fast"})
    assert with_groups.returncode == 0, with_groups
    assert "Including dev, fast from BP_PYTHON_GROUPS" in with_groups.output
    assert "uv sync --locked --no-default-groups --group dev --extra fast" in with_groups.output
    assert imports(pycnb, app, "pycnb_devtool")
    assert imports(pycnb, app, "pycnb_gamma")

    # Back to the default: the sync removes both.
    without = pycnb.build(app)
    assert without.returncode == 0, without
    assert (
        "The dependency groups (BP_PYTHON_GROUPS) changed from dev,fast to (none)" in without.output
    ), without
    assert not imports(pycnb, app, "pycnb_devtool")
    assert not imports(pycnb, app, "pycnb_gamma")


def test_unknown_group_fails_before_installing(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.uv(app)
    result = pycnb.build(app, env={"BP_PYTHON_GROUPS": "dev,tests"})
    assert_clean_error(
        result,
        "Unknown dependency group in BP_PYTHON_GROUPS: tests",
        "The project defines dependency groups: dev; extras: fast",
    )
    assert "Installing uv" not in result.output


def test_outdated_lock_shows_uvs_message_then_ours(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.uv(app)
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('["pycnb-beta"]', '["pycnb-beta", "pycnb-gamma"]')
    )
    result = pycnb.build(app)
    assert_clean_error(
        result,
        "[ERROR] uv.lock is out of date",
        "uv said:",
        "needs to be updated, but `--locked` was provided",
        "Run `uv lock` and commit the updated uv.lock.",
    )


def test_python_outside_requires_python_fails_clearly(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('">=3.11"', '">=3.11,<3.13"'))
    locker.uv(app)
    (app / ".python-version").write_text("3.13\n")
    result = pycnb.build(app)
    # The Python step already sees the conflict; uv itself would refuse it too.
    assert_clean_error(result, "3.13", "<3.13")


def test_uv_project_without_lock(pycnb: Pycnb, app: Path, locker: Locker) -> None:
    locker.point_at_index(app)
    result = pycnb.build(app)
    assert_clean_error(result, "[ERROR] uv.lock is missing", "[tool.uv]", "Run `uv lock`")


def test_launch_image_holds_no_installer_and_pycs_stay_valid(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.uv(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert_launch_image_is_installer_free(pycnb, app, "pycnb_beta")


def test_uv_missing_from_the_index_fails_clearly_and_the_next_build_recovers(
    pycnb: Pycnb, app: Path, locker: Locker, tmp_path: Path
) -> None:
    locker.uv(app)
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    failed = pycnb.build(app, env={"PIP_FIND_LINKS": str(empty)})
    assert_clean_error(
        failed,
        "[ERROR] Cannot find uv on the package index",
        f"pycnb installs uv from its wheel {pinned_wheel('uv').file}, but no source has it",
        f"  - {empty}: lists no {pinned_wheel('uv').file}",
        "PIP_INDEX_URL",
    )
    assert "Installing dependencies from uv.lock" not in failed.output

    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert f"Installing uv {UV_VERSION}..." in again.output
    assert pycnb.run(app, "python", "app.py").output == "alpha 2.0 beta 1.0\n"


def test_a_project_its_build_system_cannot_build_gets_its_dependencies(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    # A build system is declared, but the module flit looks for (uv_basic) does not exist.
    pyproject = app / "pyproject.toml"
    text = pyproject.read_text().replace("[tool.uv]\npackage = false\n", "")
    text += (
        '\n[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
    )
    pyproject.write_text(text)
    locker.uv(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "[WARNING] The app's own package could not be installed" in result.output, result
    assert "Running: uv sync --locked --no-default-groups --no-install-project" in result.output
    assert "`[tool.uv] package = false`" in result.output
    assert pycnb.run(app, "python", "app.py").output == "alpha 2.0 beta 1.0\n"


def test_a_requirements_txt_exported_from_the_lock_builds_with_the_lock(
    pycnb: Pycnb, app: Path, locker: Locker
) -> None:
    locker.uv(app)
    locker.uv_export(app)
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "Using uv (uv.lock)" in result.output, result
    assert (
        "Ignoring requirements.txt: it is an export of uv.lock (its header says it was written "
        "by `uv export`), so uv installs the lockfile itself"
    ) in result.output
    assert pycnb.run(app, "python", "app.py").output == "alpha 2.0 beta 1.0\n"

    # Edited by hand, it is a second package manager again.
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\n")
    again = pycnb.build(app)
    assert_clean_error(again, "Multiple package manager files found", "uv export")

"""Every user mistake the spine knows about: a clear message, a non-zero exit, no traceback, and
nothing exported, so the previous image still runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import Pycnb, Result


def assert_clean_failure(result: Result, *expected: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.output, result
    for text in expected:
        assert text in result.output, result


@pytest.mark.app("no_package_manager")
def test_no_package_manager_file(pycnb: Pycnb, app: Path) -> None:
    assert_clean_failure(
        pycnb.build(app),
        "[ERROR] No package manager file found",
        "Found requirement.txt: is it a misspelled requirements.txt?",
    )


@pytest.mark.app("multiple_package_managers")
def test_multiple_package_managers_are_all_listed(pycnb: Pycnb, app: Path) -> None:
    assert_clean_failure(
        pycnb.build(app),
        "[ERROR] Multiple package manager files found",
        "requirements.txt (pip)",
        "poetry.lock (Poetry)",
        "uv.lock (uv)",
    )


@pytest.mark.app("unknown_python_version")
def test_unknown_python_version_lists_available(pycnb: Pycnb, app: Path) -> None:
    assert_clean_failure(
        pycnb.build(app),
        "[ERROR] Python 3.12.99 is not available",
        "Available versions: 3.10.13, 3.11.7, 3.12.1, 3.13.0",
    )


@pytest.mark.app("invalid_python_version")
def test_invalid_python_version_file_names_the_line(pycnb: Pycnb, app: Path) -> None:
    assert_clean_failure(
        pycnb.build(app),
        "[ERROR] Invalid Python version in .python-version",
        ".python-version, line 3: it names more than one version.",
    )


@pytest.mark.app("pip_basic")
def test_forbidden_env_vars_are_all_listed(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app, env={"PIP_USER": "1", "PYTHONHOME": "/x", "PIP_TARGET": "/t"})
    assert_clean_failure(
        result,
        "[ERROR] Unsupported environment variables are set",
        "PIP_TARGET: it makes pip install outside",
        "PIP_USER: user installs bypass",
        "PYTHONHOME: it makes Python look",
    )
    assert "Installing Python" not in result.output, "checks run before any work"


@pytest.mark.app("pip_install_fails")
def test_pip_failure_shows_pips_error_then_ours(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert_clean_failure(
        result,
        "No matching distribution found for pycnb-does-not-exist==1.0",
        "[ERROR] Installing dependencies with pip failed",
    )
    assert result.output.index("No matching distribution") < result.output.index("[ERROR]")


@pytest.mark.app("pip_basic")
def test_missing_include_names_file_and_line(pycnb: Pycnb, app: Path) -> None:
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\n-r extra.txt\n")
    assert_clean_failure(
        pycnb.build(app),
        "[ERROR] A requirements file named in requirements.txt does not exist",
        "requirements.txt, line 2, includes extra.txt",
    )


def tampered_manifest(original: Path, tmp_path: Path, **changes: str) -> Path:
    manifest = json.loads(original.read_text())
    for distribution in manifest["distributions"]:
        distribution.update(changes)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


@pytest.mark.app("pip_basic")
def test_checksum_mismatch(pycnb: Pycnb, app: Path, runtime_manifest: Path, tmp_path: Path) -> None:
    bad = tampered_manifest(runtime_manifest, tmp_path, sha256=hashlib.sha256(b"x").hexdigest())
    result = pycnb.build(app, env={"BP_PYTHON_MANIFEST": str(bad)})
    assert_clean_failure(
        result, "[ERROR] The downloaded Python archive does not match its checksum"
    )


@pytest.mark.app("pip_basic")
def test_download_failure(pycnb: Pycnb, app: Path, runtime_manifest: Path, tmp_path: Path) -> None:
    bad = tampered_manifest(runtime_manifest, tmp_path, url=(tmp_path / "gone.tar.gz").as_uri())
    assert_clean_failure(
        pycnb.build(app, env={"BP_PYTHON_MANIFEST": str(bad)}), "[ERROR] Downloading Python failed"
    )


@pytest.mark.app("pip_basic")
def test_failed_build_exports_and_caches_nothing(pycnb: Pycnb, app: Path) -> None:
    assert pycnb.build(app).returncode == 0
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\npycnb-does-not-exist\n")
    assert pycnb.build(app).returncode != 0
    # The previous image still runs, unchanged.
    ran = pycnb.run(app, "python", "-c", "import pycnb_beta; print(pycnb_beta.__version__)")
    assert ran.output == "1.0\n", ran
    # And the cache still holds the good venv: restoring the old requirements reuses it.
    shutil.copy(Path(__file__).parent.parent / "fixtures/apps/pip_basic/requirements.txt", app)
    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert "Using cached Python 3.12.1" in again.output


@pytest.mark.app("no_package_manager")
def test_the_exit_status_says_which_phase_failed(pycnb: Pycnb, app: Path, tmp_path: Path) -> None:
    # As the lifecycle (and so pack) exits: 51 when a buildpack's build fails...
    assert pycnb.build(app).returncode == 51
    # ...and 20 when no buildpack group passes detection (nothing Python in the app).
    empty = tmp_path / "not-python"
    empty.mkdir()
    (empty / "index.html").write_text("<p>hi</p>\n")
    assert pycnb.build(empty).returncode == 20

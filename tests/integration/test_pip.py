"""pip apps end to end: first build, a rebuild that reuses everything, a rebuild after a change."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.integration.conftest import Pycnb
from tests.support.wheels import make_wheel


def pyc_states(directory: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*.pyc")}


@pytest.mark.app("pip_basic")
def test_build_rebuild_and_change(pycnb: Pycnb, app: Path) -> None:
    first = pycnb.build(app)
    assert first.returncode == 0, first
    assert "Traceback" not in first.output
    for line in [
        "Using pip (requirements.txt)",
        "Using Python 3.12.1 (3.12 from .python-version)",
        "Installing Python 3.12.1...",
        "Installing pip 26.3...",
        "Installing dependencies from requirements.txt with pip...",
    ]:
        assert line in first.output, first

    ran = pycnb.run(app, "python", "app.py")
    assert ran.returncode == 0, ran
    assert ran.output == "alpha 1.0 beta 1.0\n"

    # Nothing changed: Python, pip and the venv all come from the cache, and pip does not run.
    second = pycnb.build(app)
    assert second.returncode == 0, second
    for line in [
        "Using cached Python 3.12.1",
        "Using cached pip 26.3",
        "Using the cached virtual environment: its inputs have not changed",
        "Skipping pip install",
    ]:
        assert line in second.output, second
    assert "Installing" not in second.output

    # The kept venv is synced: the changed pin is installed, and a removed package is gone.
    (app / "requirements.txt").write_text("pycnb-alpha==2.0\n")
    third = pycnb.build(app)
    assert third.returncode == 0, third
    assert "Updating the cached virtual environment since:\n  - The requirements changed" in (
        third.output
    )
    assert "Removing what requirements.txt no longer needs: pycnb-beta..." in third.output
    assert "Using cached Python 3.12.1" in third.output
    assert "Using cached pip 26.3" in third.output
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "2.0\n"
    gone = pycnb.run(app, "python", "-c", "import pycnb_beta")
    assert gone.returncode != 0
    assert "ModuleNotFoundError" in gone.output

    # What is no longer listed but still required by what is stays: beta depends on alpha.
    (app / "requirements.txt").write_text("pycnb-beta==1.0\n")
    fourth = pycnb.build(app)
    assert fourth.returncode == 0, fourth
    assert "Removing what" not in fourth.output
    both = "import pycnb_alpha, pycnb_beta; print(pycnb_alpha.__version__, pycnb_beta.__version__)"
    assert pycnb.run(app, "python", "-c", both).output == "2.0 1.0\n"


@pytest.mark.app("pip_basic")
def test_launch_image_holds_no_installer_and_pycs_stay_valid(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert result.returncode == 0, result
    # Only launch layers are in the image: the runtime, the venv and the web defaults.
    exported = sorted(p.name for p in pycnb.layers.iterdir() if p.is_dir())
    assert exported == ["python", "venv", "web-defaults"]
    assert not list((pycnb.layers / "python" / "bin").glob("pip*"))
    assert not list(pycnb.layers.rglob("site-packages/pip"))
    no_pip = pycnb.run(app, "python", "-c", "import pip")
    assert "ModuleNotFoundError: No module named 'pip'" in no_pip.output

    # Export resets every mtime to 1980 (like the lifecycle). Importing must not rewrite a .pyc.
    before = pyc_states(pycnb.layers)
    assert before, "the layers hold compiled files"
    imports = "import json, email.mime.text, sqlite3, decimal, pycnb_alpha, pycnb_beta"
    ran = pycnb.run(app, "python", "-c", imports)
    assert ran.returncode == 0, ran
    assert pyc_states(pycnb.layers) == before


@pytest.mark.app("pip_basic")
def test_launch_and_later_buildpack_env(pycnb: Pycnb, app: Path) -> None:
    printer = Path(__file__).parent / "buildpacks" / "print_env"
    result = pycnb.build(app, "--buildpack", "pycnb", "--buildpack", str(printer))
    assert result.returncode == 0, result
    venv, python = pycnb.layers / "venv", pycnb.layers / "python"

    # What a later buildpack sees at build time.
    seen = dict(
        line.removeprefix("print-env: ").split("=", 1)
        for line in result.output.splitlines()
        if line.startswith("print-env: ")
    )
    assert seen["PATH"].startswith(f"{venv}/bin:{python}/bin:")
    assert seen["VIRTUAL_ENV"] == str(venv)
    assert seen["PIP_PYTHON"] == str(venv / "bin" / "python")
    assert f"{python}/include/python3.12" in seen["CPATH"].split(":")
    assert seen["PKG_CONFIG_PATH"].startswith(f"{python}/lib/pkgconfig")
    assert seen["pip"].startswith("pip 26.3"), "pip is on PATH for later buildpacks"
    assert seen["python-prefix"] == str(venv), "python on PATH is the venv's"
    assert "/invalid" not in "".join(seen.values()), "the caller's env must not leak in"

    # The launch env: venv first on PATH, VIRTUAL_ENV set, PYTHONUNBUFFERED a default.
    ran = pycnb.run(app, "env")
    env = dict(line.split("=", 1) for line in ran.output.splitlines() if "=" in line)
    assert env["PATH"].startswith(f"{venv}/bin:{python}/bin:")
    assert env["VIRTUAL_ENV"] == str(venv)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert "PIP_PYTHON" not in env, "build-only settings stay out of the image"
    overridden = pycnb.run(app, "env", extra=["--env", "PYTHONUNBUFFERED=0"])
    assert "PYTHONUNBUFFERED=0\n" in overridden.output


@pytest.mark.app("pip_includes")
def test_change_in_an_included_file_rebuilds(pycnb: Pycnb, app: Path) -> None:
    assert pycnb.build(app).returncode == 0
    reused = pycnb.build(app)
    assert "Using the cached virtual environment" in reused.output
    (app / "requirements" / "constraints.txt").write_text("pycnb-alpha==2.0\n")
    rebuilt = pycnb.build(app)
    assert rebuilt.returncode == 0, rebuilt
    assert "The requirements changed" in rebuilt.output
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "2.0\n"


@pytest.mark.app("pip_env_var_reference")
def test_env_var_references_reach_pip_and_prevent_reuse(pycnb: Pycnb, app: Path) -> None:
    first = pycnb.build(app, env={"ALPHA_VERSION": "1.0"})
    assert first.returncode == 0, first
    second = pycnb.build(app, env={"ALPHA_VERSION": "2.0"})
    assert second.returncode == 0, second
    assert "requirements.txt:1: refers to an environment variable" in second.output
    ran = pycnb.run(app, "python", "-c", "import pycnb_alpha; print(pycnb_alpha.__version__)")
    assert ran.output == "2.0\n"


@pytest.mark.app("pip_basic")
def test_python_upgrade_discards_python_and_venv_with_reasons(pycnb: Pycnb, app: Path) -> None:
    assert pycnb.build(app).returncode == 0
    (app / ".python-version").write_text("3.13\n")
    upgraded = pycnb.build(app)
    assert upgraded.returncode == 0, upgraded
    assert "Discarding cached Python since:" in upgraded.output
    assert "The Python version changed from 3.12.1 to 3.13.0" in upgraded.output
    assert "Rebuilding the virtual environment since:" in upgraded.output
    ran = pycnb.run(app, "python", "-c", "import sys, pycnb_beta; print(sys.version_info[:2])")
    assert ran.output == "(3, 13)\n"


@pytest.mark.app("pip_default_python")
def test_without_version_file_the_newest_python_is_used(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert result.returncode == 0, result
    assert "Using Python 3.13.0 (the newest available; no .python-version file)" in result.output
    assert "Add a .python-version file containing 3.13" in result.output


@pytest.mark.app("pip_basic")
def test_user_secrets_stay_out_of_layers_and_log(pycnb: Pycnb, app: Path) -> None:
    secret = "pycnb-test-secret-value"  # noqa: S105 - a fake credential, to prove it never leaks
    result = pycnb.build(
        app, env={"PIP_EXTRA_INDEX_URL": f"https://user:{secret}@example.invalid/"}
    )
    assert result.returncode == 0, result
    assert secret not in result.output
    for path in pycnb.layers.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret.encode() not in path.read_bytes(), path
    for toml in pycnb.root.rglob("*.toml"):
        assert secret not in toml.read_text(errors="replace"), toml
    # Not even a digest of the settings travels with the image: its layer metadata has none.
    image_metadata = (pycnb.root / "image" / "metadata.toml").read_text()
    assert "requirements_digest" in image_metadata
    assert "settings" not in image_metadata

    # The settings still decide reuse: the same ones reuse the venv, another one syncs it.
    same = pycnb.build(app, env={"PIP_EXTRA_INDEX_URL": f"https://user:{secret}@example.invalid/"})
    assert "Using the cached virtual environment: its inputs have not changed" in same.output
    other = pycnb.build(app, env={"PIP_EXTRA_INDEX_URL": "https://user:other@example.invalid/"})
    assert other.returncode == 0, other
    assert "  - The installer settings (PIP_* env vars) changed" in other.output


@pytest.mark.app("pip_basic")
def test_local_python_source_builds_without_a_manifest(pycnb: Pycnb, app: Path) -> None:
    env = {k: v for k, v in pycnb.user_env.items() if k != "BP_PYTHON_MANIFEST"}
    pairs = [f"--env={k}={v}" for k, v in env.items()]
    result = pycnb("build", app, "--root", pycnb.root, "--python-source", "local", *pairs)
    assert result.returncode == 0, result
    assert "Python runtimes from this machine:" in result.output
    which = pycnb.run(app, "python3", "-c", "import sys; print(sys.base_prefix)")
    assert which.output == f"{pycnb.layers / 'python'}\n"


@pytest.mark.app("pip_basic")
def test_a_failed_sync_of_a_kept_venv_fails_cleanly_and_keeps_the_image(
    pycnb: Pycnb, app: Path
) -> None:
    assert pycnb.build(app).returncode == 0
    (app / "requirements.txt").write_text("pycnb-alpha==9.9\n")  # no such version
    failed = pycnb.build(app)
    assert failed.returncode != 0
    assert "Updating the cached virtual environment since:" in failed.output
    assert "Installing dependencies with pip failed" in failed.output
    assert "Traceback" not in failed.output
    # The previous image is untouched, and the next good build starts from the cached venv.
    ran = pycnb.run(app, "python", "-c", "import pycnb_beta; print(pycnb_beta.__version__)")
    assert ran.output == "1.0\n"
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\n")
    fixed = pycnb.build(app)
    assert fixed.returncode == 0, fixed
    assert "Removing what requirements.txt no longer needs: pycnb-beta..." in fixed.output


@pytest.mark.app("pip_basic")
def test_the_image_carries_cyclonedx_sboms_of_python_and_the_venv(pycnb: Pycnb, app: Path) -> None:
    result = pycnb.build(app)
    assert result.returncode == 0, result
    sbom_dir = pycnb.root / "layers" / "sbom" / "launch" / "pycnb_python"
    documents = {
        layer: json.loads((sbom_dir / layer / "sbom.cdx.json").read_text())
        for layer in ("python", "venv")
    }
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    for document in documents.values():
        assert validator.validate_str(json.dumps(document)) is None
    [python] = documents["python"]["components"]
    assert (python["name"], python["version"]) == ("cpython", "3.12.1")
    purls = {c["purl"] for c in documents["venv"]["components"]}
    assert purls == {"pkg:pypi/pycnb-alpha@1.0", "pkg:pypi/pycnb-beta@1.0"}

    # A reused venv gets the same SBOM, byte for byte.
    before = (sbom_dir / "venv" / "sbom.cdx.json").read_bytes()
    again = pycnb.build(app)
    assert again.returncode == 0, again
    assert (sbom_dir / "venv" / "sbom.cdx.json").read_bytes() == before


@pytest.mark.app("pip_basic")
def test_a_later_buildpack_can_require_python_and_the_venv(pycnb: Pycnb, app: Path) -> None:
    requirer = Path(__file__).parent / "buildpacks" / "requires_python"
    result = pycnb.build(app, "--buildpack", "pycnb", "--buildpack", str(requirer))
    assert result.returncode == 0, result
    assert f"requires-python: python is {pycnb.layers / 'venv' / 'bin' / 'python'}" in result.output

    # Nobody else provides them: without pycnb the group cannot resolve.
    alone = pycnb.build(app, "--buildpack", str(requirer))
    assert alone.returncode != 0, alone


@pytest.mark.app("pip_default_python")
def test_an_open_choice_lands_on_a_python_every_pin_has_wheels_for(
    pycnb: Pycnb, app: Path, tmp_path: Path
) -> None:
    # Like greenlet 3.0.3: a compiled package with wheels up to 3.12 only (and a pure one).
    wheels = tmp_path / "compiled-wheels"
    machine = platform.machine()
    for python in ("cp311", "cp312"):
        tag = f"{python}-{python}-manylinux_2_17_{machine}"
        make_wheel(wheels, "pycnb-compiled", "1.0", tag=tag)
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\npycnb-compiled==1.0\n")
    find_links = f"{pycnb.user_env['PIP_FIND_LINKS']} {wheels}"
    result = pycnb.build(app, env={"PIP_FIND_LINKS": find_links})
    assert result.returncode == 0, result
    for line in [
        "Using Python 3.12.1 (the newest available; no .python-version file)",
        "Chose Python 3.12, not 3.13: pycnb-compiled 1.0 has no wheel for Python 3.13.",
    ]:
        assert line in result.output, result
    assert pycnb.run(app, "python", "-c", "import pycnb_compiled").returncode == 0

    # An explicit version is never overridden; the build says what will have to compile.
    (app / ".python-version").write_text("3.13\n")
    explicit = pycnb.build(app, env={"PIP_FIND_LINKS": find_links})
    assert "Using Python 3.13.0 (3.13 from .python-version)" in explicit.output, explicit
    assert "Chose Python" not in explicit.output

"""Switching package manager between builds of one app never reuses the old venv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import (
    FIXTURE_APPS,
    Locker,
    PackageIndex,
    Pycnb,
    assert_launch_image_is_installer_free,
    imports,
)


def versions(pycnb: Pycnb, app: Path) -> str:
    code = "import pycnb_alpha as a; print(a.__version__)"
    return pycnb.run(app, "python", "-c", code).output.strip()


@pytest.mark.app("uv_basic")
def test_pip_then_uv_then_poetry(
    pycnb: Pycnb, app: Path, locker: Locker, package_index: PackageIndex
) -> None:
    env = {"PIP_FIND_LINKS": str(package_index.files)}

    # 1. requirements.txt decides, whatever pyproject.toml says.
    (app / "requirements.txt").write_text("pycnb-alpha==1.0\npycnb-gamma==1.0\n")
    with_pip = pycnb.build(app, env=env)
    assert with_pip.returncode == 0, with_pip
    assert "Using pip (requirements.txt)" in with_pip.output
    assert versions(pycnb, app) == "1.0"
    assert imports(pycnb, app, "pycnb_gamma")

    # 2. uv: a fresh venv, so nothing pip installed survives.
    (app / "requirements.txt").unlink()
    locker.uv(app)
    with_uv = pycnb.build(app, env=env)
    assert with_uv.returncode == 0, with_uv
    assert (
        "Rebuilding the virtual environment since:\n"
        "  - The package manager changed from pip to uv\n"
    ) in with_uv.output, with_uv
    assert versions(pycnb, app) == "2.0"
    assert not imports(pycnb, app, "pycnb_gamma"), "pip's packages are gone"

    # 3. Poetry: fresh again, and uv is no longer a layer of the build.
    (app / "uv.lock").unlink()
    shutil.copy(FIXTURE_APPS / "poetry_basic" / "pyproject.toml", app / "pyproject.toml")
    (app / "pyproject.toml").write_text(
        (app / "pyproject.toml").read_text().replace('["pycnb-beta"]', '["pycnb-alpha==1.0"]')
    )
    locker.poetry(app)
    with_poetry = pycnb.build(app, env=env)
    assert with_poetry.returncode == 0, with_poetry
    assert "  - The package manager changed from uv to Poetry\n" in with_poetry.output
    assert "Skipping" not in with_poetry.output
    assert versions(pycnb, app) == "1.0"
    assert not imports(pycnb, app, "pycnb_beta"), "uv's packages are gone"
    assert_launch_image_is_installer_free(pycnb, app, "pycnb_alpha")

"""pycnb installed as users install it: a built wheel (not editable) in a fresh venv, and with
`pipx install` and `uv tool install`. Offline: the build backend, pycnb's dependencies and pipx
come from the test wheelhouse (`scripts/fetch_test_wheels.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pycnb.packager import find_checkout_root
from tests.integration.conftest import Pycnb
from tests.support.tool_wheels import cached_pycnb_wheel_requirements, cached_tool_wheels

CHECKOUT = find_checkout_root()


def _run(argv: list[str | Path], *, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [str(a) for a in argv],
        env=env,
        cwd="/",  # far from the checkout: nothing may be found through the current directory
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, f"{argv}\n{completed.stdout}"
    return completed.stdout


def _clean_env() -> dict[str, str]:
    # No PYTHONPATH or venv of the test run: the installed pycnb must stand on its own.
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheelhouse = cached_pycnb_wheel_requirements()
    out = tmp_path_factory.mktemp("dist")
    # --isolated: no pip.conf of the machine; the backend (hatchling) comes from the wheelhouse.
    _run([sys.executable, "-m", "pip", "wheel", "--isolated", "--no-deps", "--no-index",
          "--find-links", wheelhouse, "--wheel-dir", out, CHECKOUT], env=_clean_env())  # fmt: skip
    (built,) = out.glob("pycnb-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    venv = tmp_path_factory.mktemp("venv") / "pycnb"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "python", "-m", "pip", "install", "--isolated", "--no-index",
          "--find-links", cached_pycnb_wheel_requirements(), wheel], env=_clean_env())  # fmt: skip
    return venv / "bin"


def test_the_wheel_carries_the_buildpack(wheel: Path) -> None:
    import zipfile  # noqa: PLC0415 - only this test reads the wheel

    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ["buildpack.toml", "bin/detect", "bin/build", "bin/_shim.sh"]:
        assert f"pycnb/_buildpack/{name}" in names
    assert "pycnb/buildpack/data/python_manifest.json" in names


def test_the_installed_pycnb_is_not_the_checkout(installed: Path) -> None:
    where = _run([installed / "python", "-c", "import pycnb; print(pycnb.__file__)"])
    assert Path(where.strip()).is_relative_to(installed.parent)


@pytest.mark.app("pip_basic")
def test_the_installed_cli_builds_and_runs_an_app(
    installed: Path, pycnb: Pycnb, app: Path, tmp_path: Path
) -> None:
    # A user cache of its own: the bundle found there is the one this pycnb packaged.
    caller_env = _clean_env() | {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    tool = Pycnb(root=tmp_path / "root", user_env=pycnb.user_env, caller_env=caller_env)
    env_args = [f"--env={k}={v}" for k, v in tool.user_env.items()]
    built = _run([installed / "pycnb", "build", app, "--root", tool.root, *env_args],
                 env=tool.caller_env)  # fmt: skip
    assert "Successfully built" in built
    (bundle,) = (tmp_path / "cache" / "pycnb" / "buildpacks").iterdir()
    assert (bundle / "buildpack.toml").read_bytes() == (CHECKOUT / "buildpack.toml").read_bytes()
    ran = _run([installed / "pycnb", "run", app, "--root", tool.root, "--", "python", "app.py"],
               env=tool.caller_env)  # fmt: skip
    assert ran == "alpha 1.0 beta 1.0\n"


def test_pipx_install_gives_a_working_package_command(
    wheel: Path, installed: Path, tmp_path: Path
) -> None:
    wheelhouse = cached_pycnb_wheel_requirements()
    _run([installed / "python", "-m", "pip", "install", "--isolated", "--no-index",
          "--find-links", wheelhouse, "pipx"], env=_clean_env())  # fmt: skip
    env = _clean_env() | {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        # pipx drives pip: offline, from the wheelhouse (its shared pip included).
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{wheelhouse} {cached_tool_wheels()}",
    }
    _run([installed / "pipx", "install", "--python", sys.executable, wheel], env=env)
    _run([tmp_path / "bin" / "pycnb", "package", "--output", tmp_path / "bp"], env=env)
    assert (tmp_path / "bp" / "lib" / "pycnb" / "buildpack" / "main.py").is_file()
    assert (tmp_path / "bp" / "buildpack.toml").read_bytes() == (
        CHECKOUT / "buildpack.toml"
    ).read_bytes()


def test_uv_tool_install_gives_a_working_package_command(
    wheel: Path, installed: Path, tmp_path: Path
) -> None:
    wheelhouse = cached_pycnb_wheel_requirements()
    _run([installed / "python", "-m", "pip", "install", "--isolated", "--no-index",
          "--find-links", cached_tool_wheels(), "uv"], env=_clean_env())  # fmt: skip
    env = _clean_env() | {
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",
    }
    _run([installed / "uv", "tool", "install", "--offline", "--no-index", "--find-links",
          wheelhouse, "--python", sys.executable, wheel], env=env)  # fmt: skip
    _run([tmp_path / "bin" / "pycnb", "package", "--output", tmp_path / "bp"], env=env)
    assert (tmp_path / "bp" / "lib" / "pycnb" / "buildpack" / "main.py").is_file()
    assert os.access(tmp_path / "bp" / "bin" / "build", os.X_OK)

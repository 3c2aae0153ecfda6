"""The bootstrap pip: which wheel, how it is unpacked and cleaned up, and what it is run with.

A fake bundled wheel stands in for the runtime's: its `pip/__main__.py` records how it was run,
so the tests see the argv, the interpreter and the env the real pip would get.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pycnb.buildpack.dependencies.bootstrap_pip import (
    BootstrapPip,
    BundledPipMissing,
    ToolInstallFailed,
)
from pycnb.buildpack.dependencies.tool_versions import POETRY_LOCK, POETRY_VERSION
from pycnb.buildpack.python.archive import InvalidArchive, UnsafeArchiveMember
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.layer_env import LayerEnv

# Records how it was run; fails like pip when FAKE_PIP_FAIL is set.
FAKE_MAIN = """
import json, os, sys
with open(os.environ["FAKE_PIP_RECORD"], "w") as record:
    json.dump({"argv": sys.argv[1:], "executable": sys.executable, "main": __file__,
               "config_file": os.environ.get("PIP_CONFIG_FILE"),
               "cert": os.environ.get("PIP_CERT"),
               "index_url": os.environ.get("PIP_INDEX_URL")}, record)
if os.environ.get("FAKE_PIP_FAIL"):
    print("ERROR: No matching distribution found for uv==0.13.9")
    sys.exit(1)
"""

# Every `pip install` option of pip 21.2.4, the oldest bundled pip of a Python in the manifest
# (3.10.2), from its `pip install --help`. Options newer than that (`--python`,
# `--root-user-action`, `--break-system-packages`...) would break builds on those Pythons.
PIP_21_2_INSTALL_OPTIONS = frozenset(
    {
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--no-compile",
        "--no-deps",
        "--no-input",
        "--no-warn-conflicts",
        "--no-warn-script-location",
        "--only-binary",
        "--quiet",
        "--requirement",
        "--target",
        "--upgrade",
    }
)


def make_runtime(root: Path, wheels: dict[str, dict[str, str]]) -> PythonRuntime:
    """A runtime whose `bin/python3` is the test's interpreter and whose ensurepip bundles
    `wheels` (file name -> members)."""
    runtime = PythonRuntime(root / "python", "3.12.1", "3.12", LayerEnv())
    runtime.python.parent.mkdir(parents=True)
    runtime.python.symlink_to(os.path.realpath(sys.executable))
    bundled = runtime.stdlib_dir / "ensurepip" / "_bundled"
    bundled.mkdir(parents=True)
    for name, members in wheels.items():
        with zipfile.ZipFile(bundled / name, "w") as wheel:
            for member, text in members.items():
                wheel.writestr(member, text)
    return runtime


def fake_pip(main: str = FAKE_MAIN) -> dict[str, str]:
    return {"pip/__init__.py": "", "pip/__main__.py": main, "pip-1.0.dist-info/METADATA": ""}


@pytest.fixture(autouse=True)
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_PIP_RECORD", str(path))
    return path


def env(**extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "FAKE_PIP_RECORD": os.environ["FAKE_PIP_RECORD"], **extra}


def read(record: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(record.read_text())
    return result


def test_installs_with_the_shared_options_and_the_users_pip_settings(
    tmp_path: Path, record: Path
) -> None:
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": fake_pip()})
    layer = tmp_path / "layers" / "uv"
    layer.mkdir(parents=True)
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install(
            "uv",
            "uv==0.13.9",
            ["--target", str(layer), "--no-deps"],
            env=env(PIP_INDEX_URL="https://mirror.example/simple/"),
            cwd=layer,
        )
        seen = read(record)
        unpacked = Path(seen["main"]).parent
        assert unpacked.is_dir()
    assert seen["argv"][0] == "install"
    assert seen["argv"][-1] == "uv==0.13.9"
    assert ["--target", str(layer), "--no-deps"] == seen["argv"][-4:-1]
    for needed in ("--no-compile", "--no-cache-dir", "--no-input", "--only-binary=:all:"):
        assert needed in seen["argv"]
    # The user's PIP_* settings apply, the build machine's pip config files do not.
    assert seen["index_url"] == "https://mirror.example/simple/"
    assert seen["config_file"] == os.devnull
    assert seen["executable"] == str(runtime.python)
    # Unpacked outside every layer, and gone once the tools are installed.
    assert not unpacked.is_relative_to(tmp_path / "layers")
    assert not unpacked.parent.exists()


def test_a_locked_tool_installs_exactly_its_lockfile(tmp_path: Path, record: Path) -> None:
    runtime = make_runtime(tmp_path, {"pip-21.2.4-py3-none-any.whl": fake_pip()})
    lock = tmp_path / "poetry-requirements.txt"
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install("Poetry", "poetry==2.5.1", [], env=env(), cwd=tmp_path, locked=lock)
    argv = read(record)["argv"]
    assert argv[-3:] == ["--no-deps", "--requirement", str(lock)]
    assert "poetry==2.5.1" not in argv, "a bare requirement would break pip's hash-checking mode"
    options = {arg.split("=")[0] for arg in argv[1:] if arg.startswith("--")}
    assert options <= PIP_21_2_INSTALL_OPTIONS


def test_the_poetry_lock_pins_the_pinned_poetry_with_hashes() -> None:
    lines = POETRY_LOCK.read_text().replace("\\\n", " ").splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert any(line.startswith(f"poetry=={POETRY_VERSION} ") for line in pins)
    assert all("==" in line and "--hash=sha256:" in line for line in pins), pins


def test_the_bootstrap_trusts_the_systems_certificates_unless_told_otherwise(
    tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca-certificates.crt"
    bundle.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # what the system's OpenSSL trusts
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": fake_pip()})
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install("uv", "uv==0.13.9", [], env=env(), cwd=tmp_path)
        assert read(record)["cert"] == str(bundle)
        bootstrap.install("uv", "uv==0.13.9", [], env=env(PIP_CERT="/my/ca.pem"), cwd=tmp_path)
        assert read(record)["cert"] == "/my/ca.pem"


def test_every_option_exists_in_the_oldest_bundled_pip(tmp_path: Path, record: Path) -> None:
    runtime = make_runtime(tmp_path, {"pip-21.2.4-py3-none-any.whl": fake_pip()})
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install(
            "pip", "pip==26.3", ["--target", str(tmp_path / "t")], env=env(), cwd=tmp_path
        )
    argv = read(record)["argv"][1:-1]
    options = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    assert options <= PIP_21_2_INSTALL_OPTIONS


def test_another_interpreter_runs_pip_to_install_into_its_venv(
    tmp_path: Path, record: Path
) -> None:
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": fake_pip()})
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(runtime.python)
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install(
            "Poetry", "poetry==2.5.1", [], python=venv_python, env=env(), cwd=tmp_path
        )
    seen = read(record)
    assert seen["executable"] == str(venv_python)
    assert "--python" not in seen["argv"], "pip 21.2 has no --python"


def test_the_newest_bundled_wheel_is_used_and_unpacked_once(tmp_path: Path, record: Path) -> None:
    runtime = make_runtime(
        tmp_path,
        {
            "pip-9.0.1-py3-none-any.whl": fake_pip("raise SystemExit('the oldest pip ran')"),
            "pip-23.2.1-py3-none-any.whl": fake_pip(),
            "pip-10.0-py3-none-any.whl": fake_pip("raise SystemExit('pip 10 ran')"),
            "setuptools-65.5.0-py3-none-any.whl": {},
        },
    )
    with BootstrapPip(runtime) as bootstrap:
        bootstrap.install("uv", "uv==1", [], env=env(), cwd=tmp_path)
        first = read(record)["main"]
        bootstrap.install("Poetry", "poetry==2", [], env=env(), cwd=tmp_path)
        assert read(record)["main"] == first


def test_nothing_is_unpacked_when_no_tool_is_installed(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, {})  # no wheel at all: only an install would notice
    with BootstrapPip(runtime):
        pass


def test_a_runtime_without_a_bundled_pip(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, {"setuptools-65.5.0-py3-none-any.whl": {}})
    with BootstrapPip(runtime) as bootstrap, pytest.raises(BundledPipMissing) as raised:
        bootstrap.install("pip", "pip==26.3", [], env=env(), cwd=tmp_path)
    assert raised.value.directory == runtime.stdlib_dir / "ensurepip" / "_bundled"


def test_a_failed_install_carries_pips_output_and_still_cleans_up(
    tmp_path: Path, record: Path
) -> None:
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": fake_pip()})
    with pytest.raises(ToolInstallFailed) as raised, BootstrapPip(runtime) as bootstrap:
        bootstrap.install("uv", "uv==0.13.9", [], env=env(FAKE_PIP_FAIL="1"), cwd=tmp_path)
    assert raised.value.tool == "uv"
    assert raised.value.requirement == "uv==0.13.9"
    assert raised.value.returncode == 1
    assert "No matching distribution found for uv==0.13.9" in raised.value.output
    assert not Path(read(record)["main"]).parent.parent.exists()


@pytest.mark.parametrize(
    ("member", "reason"),
    [("../outside.py", "outside"), ("/absolute.py", "absolute"), ("pip/../../up.py", "outside")],
)
def test_an_unsafe_member_is_refused_before_anything_is_written(
    tmp_path: Path, member: str, reason: str
) -> None:
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": {**fake_pip(), member: ""}})
    with BootstrapPip(runtime) as bootstrap, pytest.raises(UnsafeArchiveMember) as raised:
        bootstrap.install("pip", "pip==26.3", [], env=env(), cwd=tmp_path)
    assert raised.value.member == member
    assert reason in raised.value.reason
    assert not list(tmp_path.rglob("outside.py"))
    assert not list(tmp_path.rglob("up.py"))


def test_a_corrupt_or_foreign_wheel_is_an_invalid_archive(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, {"pip-23.2.1-py3-none-any.whl": {"other/x.py": ""}})
    with BootstrapPip(runtime) as bootstrap, pytest.raises(InvalidArchive, match="__main__"):
        bootstrap.install("pip", "pip==26.3", [], env=env(), cwd=tmp_path)

    wheel = runtime.stdlib_dir / "ensurepip" / "_bundled" / "pip-23.2.1-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")
    with BootstrapPip(runtime) as bootstrap, pytest.raises(InvalidArchive, match="corrupt"):
        bootstrap.install("pip", "pip==26.3", [], env=env(), cwd=tmp_path)

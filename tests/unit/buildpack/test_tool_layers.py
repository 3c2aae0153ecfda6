"""The pip, uv and Poetry layers: made from the real pinned wheels (a find-links directory stands
in for the index), only the app's own tools are installed, a failed install leaves no layer a
later build could trust, and a cached layer is not reinstalled.

The runtime's Python is the test's interpreter, so venvs and bytecode are real.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pycnb.buildpack.dependencies import pip as pip_module
from pycnb.buildpack.dependencies import plan as dependencies
from pycnb.buildpack.dependencies.failures import ToolInstallFailed
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pip import Pip, install_pip
from pycnb.buildpack.dependencies.plan import (
    DependencyPlan,
    install_app_dependencies,
    start_prefetch,
)
from pycnb.buildpack.dependencies.poetry import POETRY
from pycnb.buildpack.dependencies.requirements import RequirementsInputs
from pycnb.buildpack.dependencies.tool_wheels import (
    Prefetch,
    ToolWheelDownloadFailed,
    ToolWheelNotFound,
    pinned_wheel,
)
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec, binary_tree, install_tool
from pycnb.buildpack.dependencies.uv import UV
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.layer_env import LayerEnv
from pycnb.cnb.toml import read_toml
from tests.support.tool_wheels import cached_tool_wheels

CHECKED_HASH = 0b11


@pytest.fixture
def wheels() -> Path:
    return cached_tool_wheels()


def index_env(find_links: Path) -> dict[str, str]:
    """The build's env with a find-links directory as the only source, as a mirror would be."""
    return {"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(find_links)}


@pytest.fixture
def env(wheels: Path) -> dict[str, str]:
    return index_env(wheels)


@pytest.fixture
def runtime(tmp_path: Path) -> PythonRuntime:
    runtime = PythonRuntime(tmp_path / "runtime", "3.12.1", "3.12", LayerEnv())
    runtime.python.parent.mkdir(parents=True)
    runtime.python.symlink_to(os.path.realpath(sys.executable))
    return runtime


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    layers = tmp_path / "layers"
    layers.mkdir()
    target = Target("linux", "amd64", None, "ubuntu", "24.04")
    return BuildContext(tmp_path, tmp_path, tmp_path, layers, (), target, {})


def quiet() -> Output:
    return Output(stdout=io.StringIO(), stderr=io.StringIO())


def is_checked_hash(pyc: Path) -> bool:
    return int.from_bytes(pyc.read_bytes()[4:8], "little") == CHECKED_HASH


# --- one layer at a time -----------------------------------------------------------------------


def test_pip_layer(ctx: BuildContext, runtime: PythonRuntime, env: dict[str, str]) -> None:
    with Prefetch(env) as prefetch:
        pip = install_pip(ctx, quiet(), runtime, env, prefetch)
    layer = ctx.layers_dir / "pip"
    assert (layer / "lib" / "pip" / "__init__.py").is_file()
    assert (layer / "lib" / "pip-26.3.dist-info" / "METADATA").is_file()
    assert not list((layer / "lib").glob("*.data")), "its console scripts could not import pip"
    assert (layer / "bin" / "pip").is_file()
    pycs = list((layer / "lib").rglob("*.pyc"))
    assert len(pycs) > 100
    assert all(is_checked_hash(pyc) for pyc in pycs)
    assert pip.argv[-1] == str(layer / "lib" / "pip" / "__pip-runner__.py")
    assert read_toml(ctx.layers_dir / "pip.toml")["metadata"] == {
        "python_version": "3.12.1",
        "pip_version": "26.3",
    }


def test_uv_layer_is_the_binary_alone_installed_once_then_reused(
    ctx: BuildContext, runtime: PythonRuntime, env: dict[str, str], tmp_path: Path
) -> None:
    with Prefetch(env) as prefetch:
        uv = install_tool(ctx, quiet(), UV, runtime=runtime, env=env, prefetch=prefetch)
    assert uv.executable == ctx.layers_dir / "uv" / "bin" / "uv"
    assert os.access(uv.executable, os.X_OK)
    files = [p.relative_to(uv.layer_dir) for p in uv.layer_dir.rglob("*") if p.is_file()]
    files = [f for f in files if f.parts[0] != "env.build"]
    assert files == [Path("bin/uv")], "not the wheel's Python package, which only finds bin/uv"

    log = io.StringIO()
    empty = tmp_path / "empty"
    empty.mkdir()
    with Prefetch(index_env(empty)) as nothing:  # would fail if asked for anything
        install_tool(
            ctx, Output(stdout=log, stderr=log), UV, runtime=runtime, env=index_env(empty),
            prefetch=nothing,
        )  # fmt: skip
    assert "Using cached uv 0.13.9" in log.getvalue()


def test_poetry_layer_is_a_private_venv_filled_by_uv(
    ctx: BuildContext, runtime: PythonRuntime, env: dict[str, str]
) -> None:
    with Prefetch(env) as prefetch:
        uv = install_tool(ctx, quiet(), UV, runtime=runtime, env=env, prefetch=prefetch)
        poetry = install_tool(
            ctx, quiet(), POETRY, runtime=runtime, env=env, prefetch=prefetch, uv=uv
        )
    layer = ctx.layers_dir / "poetry"
    assert poetry.executable.resolve() == (layer / "venv" / "bin" / "poetry").resolve()
    assert (poetry.layer_dir / "config").is_dir()
    assert (poetry.layer_dir / "data").is_dir()
    [site_packages] = (layer / "venv" / "lib").glob("python3.*/site-packages")
    assert (site_packages / "poetry-2.5.1.dist-info").is_dir()
    assert not (site_packages / "pip").exists(), "the locked requirements only"
    pycs = list((site_packages / "poetry").rglob("*.pyc"))
    assert pycs
    assert all(is_checked_hash(pyc) for pyc in pycs)
    assert (ctx.layers_dir / "poetry.toml").is_file()


def test_a_prefetched_tree_is_moved_into_the_layer(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with Prefetch(env) as prefetch:
        prefetch.start(binary_tree(UV))
        # The layer asks with an env that reaches no index: what it gets was prefetched.
        prefetch.install(binary_tree(UV), tmp_path / "layer", env=index_env(empty))
    assert os.access(tmp_path / "layer" / "bin" / "uv", os.X_OK)


def test_start_prefetch_skips_a_layer_the_cache_restored(
    ctx: BuildContext, env: dict[str, str]
) -> None:
    plan = DependencyPlan(PackageManager.POETRY, GroupSelection(), None, "l", "p")
    started: list[str] = []

    class Recorder(Prefetch):
        def start(self, tree: Any) -> None:
            started.append(tree.project)

    with Recorder(env) as prefetch:
        start_prefetch(ctx, plan, prefetch)
        (ctx.layers_dir / "uv.toml").write_text("[metadata]\n")
        start_prefetch(ctx, plan, prefetch)
        start_prefetch(ctx, dataclasses.replace(plan, package_manager=PackageManager.PIP), prefetch)
    assert started == ["uv", "pip"], "uv once (then cached); Poetry itself needs the Python"


def test_a_wheel_no_source_has_is_named_with_every_source_asked(
    ctx: BuildContext, runtime: PythonRuntime, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**index_env(empty), "PIP_NO_INDEX": "", "PIP_INDEX_URL": "http://127.0.0.1:9/simple/"}
    with Prefetch(env) as prefetch, pytest.raises(ToolWheelNotFound) as raised:
        install_tool(ctx, quiet(), UV, runtime=runtime, env=env, prefetch=prefetch)
    assert raised.value.file == pinned_wheel("uv").file
    [(index, said), (links, listed)] = raised.value.sources
    assert index == "http://127.0.0.1:9/simple/"
    assert "refused" in said.lower()
    assert (links, listed) == (str(empty), f"lists no {pinned_wheel('uv').file}")
    assert not (ctx.layers_dir / "uv.toml").exists()


def test_a_wheel_that_is_not_the_pinned_one_is_refused(
    ctx: BuildContext, runtime: PythonRuntime, tmp_path: Path
) -> None:
    impostor = tmp_path / "mirror"
    impostor.mkdir()
    (impostor / pinned_wheel("pip").file).write_bytes(b"not pip")
    with (
        Prefetch(index_env(impostor)) as prefetch,
        pytest.raises(ToolWheelDownloadFailed, match="sha256 mismatch"),
    ):
        install_pip(ctx, quiet(), runtime, index_env(impostor), prefetch)
    assert not (ctx.layers_dir / "pip.toml").exists()
    assert not list((ctx.layers_dir / "pip").rglob("*.py")), "nothing unpacked"


Install = Callable[[dict[str, str], Prefetch], object]


@pytest.mark.parametrize("tool", ["pip", "uv", "Poetry"])
def test_a_failed_install_leaves_no_layer_a_later_build_could_trust(
    ctx: BuildContext,
    runtime: PythonRuntime,
    env: dict[str, str],
    tmp_path: Path,
    tool: str,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with Prefetch(env) as prefetch:
        uv = install_tool(ctx, quiet(), UV, runtime=runtime, env=env, prefetch=prefetch)
    if tool == "uv":
        shutil.rmtree(uv.layer_dir)
        (ctx.layers_dir / "uv.toml").unlink()
    installs: dict[str, Install] = {
        "pip": lambda env, prefetch: install_pip(ctx, quiet(), runtime, env, prefetch),
        "uv": lambda env, prefetch: install_tool(
            ctx, quiet(), UV, runtime=runtime, env=env, prefetch=prefetch
        ),
        "Poetry": lambda env, prefetch: install_tool(
            ctx, quiet(), POETRY, runtime=runtime, env=env, prefetch=prefetch, uv=uv
        ),
    }
    failing = index_env(empty)
    with (
        Prefetch(failing) as prefetch,
        pytest.raises((ToolInstallFailed, ToolWheelNotFound)) as raised,
    ):
        installs[tool](failing, prefetch)
    assert isinstance(raised.value, ToolInstallFailed | ToolWheelNotFound)
    assert raised.value.tool == tool
    # Without its .toml, the platform neither caches nor exports the directory.
    assert not (ctx.layers_dir / f"{tool.lower()}.toml").exists()

    # The next build starts that layer afresh.
    with Prefetch(env) as prefetch:
        installs[tool](env, prefetch)
    assert (ctx.layers_dir / f"{tool.lower()}.toml").is_file()


# --- which tools an app gets -------------------------------------------------------------------


@contextmanager
def recorded_tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replace the layers `install_app_dependencies` uses with ones that log what they do."""
    events: list[str] = []

    def install_pip(*_args: Any) -> Pip:
        events.append("pip")
        return Pip(("pip",), "26.3")

    def install_tool(_ctx: BuildContext, _out: Output, spec: ToolSpec, **_kwargs: Any) -> Any:
        events.append(spec.name)
        return InstalledTool(Path("/t"), Path("/t/bin") / spec.executable, spec.version)

    monkeypatch.setattr(pip_module, "install_pip", install_pip)
    monkeypatch.setattr(dependencies, "install_tool", install_tool)
    monkeypatch.setattr(dependencies, "prepare_download_cache", lambda *_args: Path("/cache"))
    monkeypatch.setattr(
        dependencies, "install_dependencies", lambda *_args, **_kwargs: events.append("venv")
    )
    yield events


@pytest.mark.parametrize(
    ("package_manager", "tools"),
    [
        (PackageManager.PIP, ["pip"]),
        (PackageManager.PYPROJECT, ["pip"]),
        (PackageManager.UV, ["uv"]),
        (PackageManager.POETRY, ["uv", "Poetry"]),
        (PackageManager.PIPENV, ["uv", "Pipenv"]),
        (PackageManager.PDM, ["uv", "PDM"]),
    ],
)
def test_an_app_gets_only_its_own_tools_before_the_venv(
    ctx: BuildContext,
    runtime: PythonRuntime,
    monkeypatch: pytest.MonkeyPatch,
    package_manager: PackageManager,
    tools: list[str],
) -> None:
    plan = DependencyPlan(
        package_manager=package_manager,
        groups=GroupSelection(),
        requirements=RequirementsInputs((ctx.app_dir / "requirements.txt",), "d", ()),
        lock_digest="l",
        project_digest="p",
    )
    with recorded_tools(monkeypatch) as events, Prefetch({}) as prefetch:
        install_app_dependencies(ctx, quiet(), plan, runtime=runtime, env={}, prefetch=prefetch)
    assert events == [*tools, "venv"]


def test_a_pip_cert_that_cannot_be_read_is_named(
    ctx: BuildContext, runtime: PythonRuntime, env: dict[str, str], tmp_path: Path
) -> None:
    broken = {**env, "PIP_CERT": str(tmp_path / "missing-ca.pem")}
    with (
        Prefetch(broken) as prefetch,
        pytest.raises(ToolWheelDownloadFailed, match="PIP_CERT cannot be used"),
    ):
        install_tool(ctx, quiet(), UV, runtime=runtime, env=broken, prefetch=prefetch)

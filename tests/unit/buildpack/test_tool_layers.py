"""The pip, uv and Poetry layers around the bootstrap pip: only the app's own tool is installed, a
failed install leaves no layer a later build could trust, and a cached layer is not reinstalled.

A fake bootstrap pip writes what the real one would (or fails like it); the runtime's Python is
the test's interpreter, so venvs and bytecode are real.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import pytest

from pycnb.buildpack.dependencies import pip as pip_module
from pycnb.buildpack.dependencies import plan as dependencies
from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip, ToolInstallFailed
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pip import Pip, install_pip
from pycnb.buildpack.dependencies.plan import DependencyPlan, install_app_dependencies
from pycnb.buildpack.dependencies.poetry import POETRY
from pycnb.buildpack.dependencies.requirements import RequirementsInputs
from pycnb.buildpack.dependencies.tool_versions import POETRY_LOCK
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec, install_tool
from pycnb.buildpack.dependencies.uv import UV
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext, Target
from pycnb.cnb.layer_env import LayerEnv
from pycnb.cnb.toml import read_toml

ENV = {"PATH": "/usr/bin:/bin"}
CHECKED_HASH = 0b11

# What the fake writes for one install: (options, python) -> files it creates.
Effect = Callable[[list[str], Path | None], None]


class FakeBootstrap(BootstrapPip):
    def __init__(self, runtime: PythonRuntime, effect: Effect | None = None) -> None:
        super().__init__(runtime)
        self.effect = effect
        self.calls: list[tuple[str, str, list[str], Path | None]] = []
        self.locked: list[Path | None] = []

    def install(
        self,
        tool: str,
        requirement: str,
        options: Sequence[str],
        *,
        env: Mapping[str, str],  # noqa: ARG002 (the real signature; what runs is faked)
        cwd: Path,  # noqa: ARG002
        python: Path | None = None,
        locked: Path | None = None,
    ) -> None:
        self.calls.append((tool, requirement, list(options), python))
        self.locked.append(locked)
        if self.effect is None:
            raise ToolInstallFailed(tool, requirement, 1, "ERROR: No matching distribution")
        self.effect(list(options), python)


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def target(options: list[str]) -> Path:
    return Path(options[options.index("--target") + 1])


def pip_wheel(options: list[str], _python: Path | None) -> None:
    write(target(options) / "pip" / "__init__.py", "__version__ = '26.3'\n")
    write(target(options) / "pip" / "__pip-runner__.py", "import pip\n")
    write(target(options) / "bin" / "pip", "#!/broken\n")  # what --target leaves behind


def uv_wheel(options: list[str], _python: Path | None) -> None:
    write(target(options) / "bin" / "uv", "#!/bin/sh\n")
    write(target(options) / "uv" / "__init__.py")


def poetry_wheels(_options: list[str], python: Path | None) -> None:
    assert python is not None
    venv = python.parent.parent
    [site_packages] = venv.glob("lib/python3.*/site-packages")
    write(site_packages / "poetry" / "__init__.py", "__version__ = '2.5.1'\n")
    write(venv / "bin" / "poetry", "#!/bin/sh\n")


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


def test_pip_layer(ctx: BuildContext, runtime: PythonRuntime) -> None:
    bootstrap = FakeBootstrap(runtime, pip_wheel)
    pip = install_pip(ctx, quiet(), runtime, bootstrap, ENV)
    layer = ctx.layers_dir / "pip"
    [(tool, requirement, options, python)] = bootstrap.calls
    assert (tool, requirement, python) == ("pip", "pip==26.3", None)
    assert options == ["--target", str(layer / "lib")]
    assert not (layer / "lib" / "bin").exists()
    assert (layer / "bin" / "pip").is_file()
    assert all(is_checked_hash(pyc) for pyc in (layer / "lib").rglob("*.pyc"))
    assert len(list((layer / "lib").rglob("*.pyc"))) == 2  # both modules
    assert pip.argv[-1] == str(layer / "lib" / "pip" / "__pip-runner__.py")
    assert read_toml(ctx.layers_dir / "pip.toml")["metadata"] == {
        "python_version": "3.12.1",
        "pip_version": "26.3",
    }


def test_uv_layer_is_installed_once_then_reused(ctx: BuildContext, runtime: PythonRuntime) -> None:
    bootstrap = FakeBootstrap(runtime, uv_wheel)
    uv = install_tool(ctx, quiet(), UV, runtime=runtime, bootstrap=bootstrap, env=ENV)
    [(tool, requirement, options, _)] = bootstrap.calls
    assert (tool, requirement) == ("uv", "uv==0.13.9")
    assert options == ["--target", str(ctx.layers_dir / "uv"), "--no-deps"]
    assert uv.executable == ctx.layers_dir / "uv" / "bin" / "uv"
    assert not list((ctx.layers_dir / "uv").rglob("*.pyc")), "no interpreter imports it"

    log = io.StringIO()
    failing = FakeBootstrap(runtime)  # raises if it is asked to install anything
    install_tool(
        ctx, Output(stdout=log, stderr=log), UV, runtime=runtime, bootstrap=failing, env=ENV
    )
    assert failing.calls == []
    assert "Using cached uv 0.13.9" in log.getvalue()


def test_poetry_layer(ctx: BuildContext, runtime: PythonRuntime) -> None:
    bootstrap = FakeBootstrap(runtime, poetry_wheels)
    poetry = install_tool(ctx, quiet(), POETRY, runtime=runtime, bootstrap=bootstrap, env=ENV)
    layer = ctx.layers_dir / "poetry"
    [(tool, requirement, options, python)] = bootstrap.calls
    # The venv's own interpreter runs pip: that is what installs into the venv.
    assert (tool, requirement, options) == ("Poetry", "poetry==2.5.1", [])
    assert bootstrap.locked == [POETRY_LOCK]  # Poetry's dependencies as locked, not resolved
    assert python == layer / "venv" / "bin" / "python"
    assert poetry.executable.resolve() == (layer / "venv" / "bin" / "poetry").resolve()
    assert (poetry.layer_dir / "config").is_dir()
    assert (poetry.layer_dir / "data").is_dir()
    [pyc] = (layer / "venv" / "lib").rglob("poetry/__pycache__/*.pyc")
    assert is_checked_hash(pyc)
    assert (ctx.layers_dir / "poetry.toml").is_file()


@pytest.mark.parametrize("tool", ["pip", "uv", "Poetry"])
def test_a_failed_install_leaves_no_layer_a_later_build_could_trust(
    ctx: BuildContext, runtime: PythonRuntime, tool: str
) -> None:
    installs: dict[str, Callable[[BootstrapPip], object]] = {
        "pip": lambda bootstrap: install_pip(ctx, quiet(), runtime, bootstrap, ENV),
        "uv": lambda bootstrap: install_tool(
            ctx, quiet(), UV, runtime=runtime, bootstrap=bootstrap, env=ENV
        ),
        "Poetry": lambda bootstrap: install_tool(
            ctx, quiet(), POETRY, runtime=runtime, bootstrap=bootstrap, env=ENV
        ),
    }
    effects: dict[str, Effect] = {"pip": pip_wheel, "uv": uv_wheel, "Poetry": poetry_wheels}
    with pytest.raises(ToolInstallFailed) as raised:
        installs[tool](FakeBootstrap(runtime))
    assert raised.value.tool == tool
    name = tool.lower()
    # Without its .toml, the platform neither caches nor exports the directory.
    assert not (ctx.layers_dir / f"{name}.toml").exists()

    # The next build starts that layer afresh.
    retry = FakeBootstrap(runtime, effects[tool])
    installs[tool](retry)
    assert len(retry.calls) == 1
    assert (ctx.layers_dir / f"{name}.toml").is_file()


# --- which tools an app gets -------------------------------------------------------------------


@contextmanager
def recorded_tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replace the layers `install_app_dependencies` uses with ones that log what they do."""
    events: list[str] = []

    class LoggedBootstrap:
        def __init__(self, _runtime: PythonRuntime) -> None:
            pass

        def __enter__(self) -> Self:
            events.append("bootstrap opened")
            return self

        def __exit__(self, *_exc: object) -> None:
            events.append("bootstrap removed")

    def install_pip(*_args: Any) -> Pip:
        events.append("pip")
        return Pip(("pip",), "26.3")

    def install_tool(_ctx: BuildContext, _out: Output, spec: ToolSpec, **_kwargs: Any) -> Any:
        events.append(spec.name)
        return InstalledTool(Path("/t"), Path("/t/bin") / spec.executable, spec.version)

    monkeypatch.setattr(dependencies, "BootstrapPip", LoggedBootstrap)
    monkeypatch.setattr(pip_module, "install_pip", install_pip)
    monkeypatch.setattr(dependencies, "install_tool", install_tool)
    monkeypatch.setattr(dependencies, "prepare_download_cache", lambda *_args: Path("/cache"))
    monkeypatch.setattr(
        dependencies, "install_dependencies", lambda *_args, **_kwargs: events.append("venv")
    )
    yield events


@pytest.mark.parametrize(
    ("package_manager", "tool"),
    [
        (PackageManager.PIP, "pip"),
        (PackageManager.PYPROJECT, "pip"),
        (PackageManager.UV, "uv"),
        (PackageManager.POETRY, "Poetry"),
    ],
)
def test_an_app_gets_only_its_own_tool_and_the_bootstrap_is_gone_before_the_venv(
    ctx: BuildContext,
    runtime: PythonRuntime,
    monkeypatch: pytest.MonkeyPatch,
    package_manager: PackageManager,
    tool: str,
) -> None:
    plan = DependencyPlan(
        package_manager=package_manager,
        groups=GroupSelection(),
        requirements=RequirementsInputs((ctx.app_dir / "requirements.txt",), "d", ()),
        lock_digest="l",
        project_digest="p",
    )
    with recorded_tools(monkeypatch) as events:
        install_app_dependencies(ctx, quiet(), plan, runtime=runtime, env=ENV)
    assert events == ["bootstrap opened", tool, "bootstrap removed", "venv"]

"""The build-only layers of the package managers that sync a lockfile: uv, Poetry and the like.

Each tool is data (`ToolSpec`): its pinned version, how it installs, the env later buildpacks
get. This module installs it into its layer with the bootstrap pip, from the package index with
the user's PIP_* settings, so a private mirror of the index is enough:

- a tool that is one binary in its wheel (uv) is installed with `--target` into the layer, and
  its `bin/` is on PATH for later buildpacks;
- a Python application with dependencies of its own (Poetry) gets a private venv in the layer,
  filled from its hash-locked requirements and compiled to hash-based .pyc files on every CPU;
  only `bin/<tool>`, a symlink, is on PATH, so that the rest of that venv's `bin/` (its
  `python`, `virtualenv`...) shadows nothing.

build + cache, not launch: the image never holds an installer. The layer is kept while its
metadata is unchanged (see `layers/keyed.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import run_captured
from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import LayerEnv
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = ["InstalledTool", "ToolLayerMetadata", "ToolSpec", "install_tool"]


@dataclass(frozen=True)
class ToolSpec:
    package_manager: PackageManager
    name: str  # as the log names it: "Poetry"
    executable: str  # the command: "poetry"
    version: str
    layer: LayerName  # sorts before `venv`, so the app's venv comes first on PATH
    cache_layer: LayerName  # its download cache (see download_cache.py)
    # The tool's dependencies, pinned with hashes, for a tool that gets a private venv; None for
    # a tool whose wheel holds everything it needs.
    locked_requirements: Path | None
    # The env a later buildpack running the tool gets, so that it too installs into our venv.
    later_buildpacks_env: Callable[[BuildContext], LayerEnv]
    # Directories made empty in the layer (for example a config dir that hides the machine's).
    empty_dirs: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.executable}=={self.version}"

    @property
    def private_venv(self) -> bool:
        return self.locked_requirements is not None


@dataclass(frozen=True)
class InstalledTool:
    layer_dir: Path
    executable: Path
    version: str


@dataclass(frozen=True)
class ToolLayerMetadata:
    tool_version: str
    # A private venv is bound to the Python that made it; "" for a tool that runs on its own.
    python_version: str
    # Compiled code (uv's binary, Poetry's C extensions) depends on the CPU and the libc.
    arch: str
    distro_name: str
    distro_version: str


def _labels(spec: ToolSpec) -> dict[str, str]:
    return {
        "tool_version": f"{spec.name} version",
        "python_version": "Python version",
        "arch": "CPU architecture",
        "distro_name": "OS distribution",
        "distro_version": "OS distribution version",
    }


def install_tool(
    ctx: BuildContext,
    out: Output,
    spec: ToolSpec,
    *,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> InstalledTool:
    new = ToolLayerMetadata(
        tool_version=spec.version,
        python_version=runtime.version if spec.private_venv else "",
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )
    layer = open_keyed_layer(
        ctx,
        out,
        name=spec.layer,
        what=spec.name,
        version=spec.version,
        metadata=new,
        labels=_labels(spec),
        build=True,
        launch=False,
        complete=lambda path: _executable(spec, path).exists(),
    )
    if isinstance(layer.state, Empty):
        with out.step(f"Installing {spec.name} {spec.version}"):
            _populate(spec, layer.path, runtime, bootstrap, env)
    layer.write_env(spec.later_buildpacks_env(ctx))
    layer.write_metadata(new)
    return InstalledTool(layer.path, _executable(spec, layer.path), spec.version)


def _executable(spec: ToolSpec, layer_dir: Path) -> Path:
    return layer_dir / "bin" / spec.executable


def _populate(
    spec: ToolSpec,
    layer_dir: Path,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> None:
    if spec.locked_requirements is None:
        # The wheel's binary lands in <layer>/bin, its tiny Python package beside it, where no
        # interpreter looks; nothing to compile.
        bootstrap.install(
            spec.name,
            spec.requirement,
            ["--target", str(layer_dir), "--no-deps"],
            env=env,
            cwd=layer_dir,
        )
    else:
        venv = layer_dir / "venv"
        run_captured(
            [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv)],
            env=env,
            cwd=layer_dir,
        )
        # Run by the venv's Python, pip installs into the venv (what `--python` does, which
        # older bundled pips lack) and starts once instead of re-running itself there. The
        # locked requirements make the layer the same whenever it is built, and every download
        # is checked against its sha256.
        bootstrap.install(
            spec.name,
            spec.requirement,
            [],
            python=venv / "bin" / "python",
            locked=spec.locked_requirements,
            env=env,
            cwd=layer_dir,
        )
        compile_tree(runtime.python, venv / "lib", env=env, cwd=layer_dir)
        executable = _executable(spec, layer_dir)
        executable.parent.mkdir()
        executable.symlink_to(Path("..") / "venv" / "bin" / spec.executable)
    for name in spec.empty_dirs:
        (layer_dir / name).mkdir()

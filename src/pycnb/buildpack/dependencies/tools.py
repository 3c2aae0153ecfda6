"""The build-only layers of the package managers that sync a lockfile: uv, Poetry and the like.

Each tool is data (`ToolSpec`): its pinned version, how it installs, the env later buildpacks
get. Everything comes from the package index with the user's PIP_* index settings, so a private
mirror of the index is enough:

- a tool that is one binary in its wheel (uv) has the binary unpacked into the layer's `bin/`,
  which is on PATH for later buildpacks (`tool_wheels.py`: no installer has to start);
- a Python application with dependencies of its own (Poetry, Pipenv, PDM) gets a private venv in
  the layer, which uv fills from the tool's hash-locked requirements, downloading in parallel and
  compiling hash-based .pyc files on every CPU; only `bin/<tool>`, a symlink, is on PATH, so that
  the rest of that venv's `bin/` (its `python`, `virtualenv`...) shadows nothing.

build + cache, not launch: the image never holds an installer. The layer is kept while its
metadata is unchanged (see `layers/keyed.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.dependencies.failures import ToolInstallFailed
from pycnb.buildpack.dependencies.index import pip_index_args
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_wheels import Prefetch, WheelTree
from pycnb.buildpack.dependencies.trust import TlsClient, trust_env
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import LayerEnv
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = [
    "InstalledTool",
    "ToolLayerMetadata",
    "ToolSpec",
    "binary_tree",
    "install_tool",
]


@dataclass(frozen=True)
class ToolSpec:
    package_manager: PackageManager
    name: str  # as the log names it: "Poetry"
    executable: str  # the command: "poetry"
    version: str
    layer: LayerName  # sorts before `venv`, so the app's venv comes first on PATH
    cache_layer: LayerName  # its download cache (see download_cache.py)
    # The tool's dependencies, pinned with hashes, for a tool that gets a private venv; None for
    # a tool whose wheel holds everything it needs (its binary; see tool_wheels.py).
    locked_requirements: Path | None
    # The env a later buildpack running the tool gets, so that it too installs into our venv.
    later_buildpacks_env: Callable[[BuildContext], LayerEnv]
    # Directories made empty in the layer (for example a config dir that hides the machine's).
    empty_dirs: tuple[str, ...] = ()
    # False for a tool that hardlinks installed files from its cache (uv): the cache is scratch.
    keeps_cache: bool = True

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
    env: Mapping[str, str],
    prefetch: Prefetch,
    uv: InstalledTool | None = None,
) -> InstalledTool:
    """Install `spec` into its layer, unless the cached one is still right: a binary from what
    `prefetch` has (or fetches now), a tool with a private venv with `uv`."""
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
            if spec.locked_requirements is None:
                prefetch.install(binary_tree(spec), layer.path, env=env, progress=out.detail)
            else:
                if uv is None:
                    raise ValueError(f"{spec.name} is installed with uv: pass uv")
                _install_with_uv(
                    spec,
                    spec.locked_requirements,
                    layer_dir=layer.path,
                    runtime=runtime,
                    uv=uv,
                    env=env,
                )
            for name in spec.empty_dirs:
                (layer.path / name).mkdir()
    layer.write_env(spec.later_buildpacks_env(ctx))
    layer.write_metadata(new)
    return InstalledTool(layer.path, _executable(spec, layer.path), spec.version)


def _executable(spec: ToolSpec, layer_dir: Path) -> Path:
    return layer_dir / "bin" / spec.executable


def binary_tree(spec: ToolSpec) -> WheelTree:
    """The wheel's `<name>-<version>.data/scripts/<executable>` as the layer's `bin/` holds it;
    the wheel's tiny Python package, which only finds that binary, is left out."""
    script = f"{spec.executable}-{spec.version}.data/scripts/{spec.executable}"
    target = f"bin/{spec.executable}"
    return WheelTree(spec.name, spec.executable, lambda name: target if name == script else None)


def _install_with_uv(
    spec: ToolSpec,
    locked: Path,
    *,
    layer_dir: Path,
    runtime: PythonRuntime,
    uv: InstalledTool,
    env: Mapping[str, str],
) -> None:
    venv = layer_dir / "venv"
    run_captured(
        [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv)],
        env=env,
        cwd=layer_dir,
    )
    # Exactly the locked files, each checked against its sha256: the layer is the same whenever
    # it is built, and nothing is resolved or built from source (an sdist of a dependency would
    # need a compiler). Compiled at once, hash-based (SOURCE_DATE_EPOCH), on every CPU.
    argv = [
        str(uv.executable),
        "pip",
        "install",
        "--python",
        str(venv / "bin" / "python"),
        "--requirement",
        str(locked),
        "--no-deps",
        "--require-hashes",
        "--no-build",
        "--compile-bytecode",
        "--no-cache",
        "--no-config",
        "--quiet",
        *pip_index_args(env),
    ]
    uv_env = {
        **env,
        **trust_env(TlsClient.UV, env),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_MANAGED_PYTHON": "1",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
    }
    try:
        run_captured(argv, env=uv_env, cwd=layer_dir)
    except CommandFailed as error:
        raise ToolInstallFailed(
            spec.name, spec.requirement, error.returncode, error.output or ""
        ) from None
    executable = _executable(spec, layer_dir)
    executable.parent.mkdir()
    executable.symlink_to(Path("..") / "venv" / "bin" / spec.executable)

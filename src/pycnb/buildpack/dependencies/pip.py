"""The pip layer: pip at the pinned version, outside the app's environment.

build + cache, not launch: the image never holds an installer. Only pip projects get this layer
(uv and Poetry are installed by the bootstrap pip, see bootstrap_pip.py). pip is installed by the
bootstrap pip, from the package index, into a plain directory that no interpreter has on its
path. It drives the app's venv through `PIP_PYTHON`, running itself with `__pip-runner__.py`,
which imports exactly this copy of pip.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip
from pycnb.buildpack.dependencies.tool_versions import PIP_VERSION
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "Pip", "PipLayerMetadata", "install_pip"]

LAYER_NAME = LayerName("pip")


@dataclass(frozen=True)
class PipLayerMetadata:
    python_version: str  # pip's .pyc files are specific to the Python that compiled them
    pip_version: str  # pip is pure Python: arch and distro do not matter


_LABELS = {"python_version": "Python version", "pip_version": "pip version"}


@dataclass(frozen=True)
class Pip:
    """How to run the layer's pip: `argv` plus the env every pip invocation needs."""

    argv: tuple[str, ...]
    version: str


def install_pip(
    ctx: BuildContext,
    out: Output,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> Pip:
    new = PipLayerMetadata(python_version=runtime.version, pip_version=PIP_VERSION)

    layer = open_keyed_layer(
        ctx,
        out,
        name=LAYER_NAME,
        what="pip",
        version=PIP_VERSION,
        metadata=new,
        labels=_LABELS,
        build=True,
        launch=False,
        complete=lambda path: _runner(path).is_file(),
    )
    if isinstance(layer.state, Empty):
        _populate(layer.path, out, runtime, bootstrap, env)
    _write_wrapper(layer.path, runtime)
    layer.write_metadata(new)
    return Pip((str(runtime.python), "-I", str(_runner(layer.path))), PIP_VERSION)


def _runner(layer_dir: Path) -> Path:
    return layer_dir / "lib" / "pip" / "__pip-runner__.py"


def _populate(
    layer_dir: Path,
    out: Output,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> None:
    lib = layer_dir / "lib"
    with out.step(f"Installing pip {PIP_VERSION}"):
        bootstrap.install(
            "pip", f"pip=={PIP_VERSION}", ["--target", str(lib)], env=env, cwd=layer_dir
        )
        # --target also writes console scripts that could not import pip; we write our own.
        shutil.rmtree(lib / "bin", ignore_errors=True)
        compile_tree(runtime.python, lib, env=env, cwd=layer_dir)


def _write_wrapper(layer_dir: Path, runtime: PythonRuntime) -> None:
    # `pip` on PATH for later buildpacks. With PIP_PYTHON (set by the venv layer) it installs
    # into the app's venv.
    bin_dir = layer_dir / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "pip"
    script.write_text(
        f'#!/bin/sh\nexec "{runtime.python}" -I "{_runner(layer_dir)}" "$@"\n', encoding="utf-8"
    )
    script.chmod(0o755)

"""The pip layer: pip at the pinned version, outside the app's environment.

build + cache, not launch: the image never holds an installer. pip is installed with the pip
wheel the Python's own `ensurepip` bundles (no download of a bootstrap pip), into a plain
directory that no interpreter has on its path. It drives the app's venv through `PIP_PYTHON`,
running itself with `__pip-runner__.py`, which imports exactly this copy of pip.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.layers.python import PythonRuntime
from pycnb.buildpack.output import Output
from pycnb.buildpack.process import run_captured
from pycnb.buildpack.tool_versions import PIP_VERSION
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "BundledPipMissing", "Pip", "PipLayerMetadata", "install_pip"]

LAYER_NAME = LayerName("pip")


@dataclass(frozen=True)
class PipLayerMetadata:
    python_version: str  # pip's .pyc files are specific to the Python that compiled them
    pip_version: str  # pip is pure Python: arch and distro do not matter


_LABELS = {"python_version": "Python version", "pip_version": "pip version"}


@dataclass
class BundledPipMissing(Exception):
    directory: Path  # where the Python's ensurepip keeps its bundled wheel

    def __str__(self) -> str:
        return f"no bundled pip wheel in {self.directory}"


@dataclass(frozen=True)
class Pip:
    """How to run the layer's pip: `argv` plus the env every pip invocation needs."""

    argv: tuple[str, ...]
    version: str


def install_pip(
    ctx: BuildContext, out: Output, runtime: PythonRuntime, env: Mapping[str, str]
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
        _populate(layer.path, out, runtime, env)
    _write_wrapper(layer.path, runtime)
    layer.write_metadata(new)
    return Pip((str(runtime.python), "-I", str(_runner(layer.path))), PIP_VERSION)


def _runner(layer_dir: Path) -> Path:
    return layer_dir / "lib" / "pip" / "__pip-runner__.py"


def _populate(layer_dir: Path, out: Output, runtime: PythonRuntime, env: Mapping[str, str]) -> None:
    bundled_dir = runtime.stdlib_dir / "ensurepip" / "_bundled"
    wheels = sorted(bundled_dir.glob("pip-*.whl"))
    if not wheels:
        raise BundledPipMissing(bundled_dir)
    with out.step(f"Installing pip {PIP_VERSION}"):
        run_captured(
            [
                str(runtime.python),
                "-I",
                # A wheel is a zip that Python can import from: run pip straight out of it.
                f"{wheels[-1]}/pip",
                "install",
                "--no-cache-dir",  # the layer itself is the cache
                "--no-input",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",  # compiled below, hash-based
                "--target",
                str(layer_dir / "lib"),
                f"pip=={PIP_VERSION}",
            ],
            env=env,
            cwd=layer_dir,
        )
        # --target also writes console scripts that could not import pip; we write our own.
        shutil.rmtree(layer_dir / "lib" / "bin", ignore_errors=True)
        run_captured(
            [
                str(runtime.python),
                "-I",
                "-m",
                "compileall",
                "-q",
                "-j0",
                "--invalidation-mode",
                "checked-hash",
                str(layer_dir / "lib"),
            ],
            env=env,
            cwd=layer_dir,
        )


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

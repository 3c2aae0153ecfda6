"""The Python layer: a relocatable CPython, downloaded, verified and extracted.

build + launch + cache: later buildpacks and the app both run it, and it only changes when the
version, the archive or the platform does. pip is removed from it (the archives ship one), so the
image holds no installer, and the standard library is compiled with hash-based `.pyc` files: the
lifecycle resets every file's mtime to 1980 on export, which would make timestamp-based `.pyc`
files look stale and get rewritten (or fail to be written) on every start of the app.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.archive import extract_python_archive
from pycnb.buildpack.python.download import download
from pycnb.buildpack.python.manifest import Distribution
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "PythonLayerMetadata", "PythonRuntime", "install_python"]

# Sorts before `venv`, so the venv's bin/ comes first on PATH (later layer names are prepended
# later, as the CNB lifecycle orders layer paths).
LAYER_NAME = LayerName("python")


@dataclass(frozen=True)
class PythonLayerMetadata:
    python_version: str
    archive_sha256: str  # the same version can be rebuilt upstream, or come from another source
    arch: str
    distro_name: str  # the runtime links against the distro's libc and friends
    distro_version: str


_LABELS = {
    "python_version": "Python version",
    "archive_sha256": "Python archive",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


@dataclass(frozen=True)
class PythonRuntime:
    layer_dir: Path
    version: str
    minor_version: str
    env: LayerEnv  # what the layer adds to the build env, including bin/ and lib/

    @property
    def python(self) -> Path:
        return self.layer_dir / "bin" / "python3"

    @property
    def stdlib_dir(self) -> Path:
        return self.layer_dir / "lib" / f"python{self.minor_version}"


def install_python(ctx: BuildContext, out: Output, distribution: Distribution) -> PythonRuntime:
    new = PythonLayerMetadata(
        python_version=str(distribution.version),
        archive_sha256=distribution.sha256,
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    version = distribution.version
    layer = open_keyed_layer(
        ctx,
        out,
        name=LAYER_NAME,
        what="Python",
        version=str(version),
        metadata=new,
        labels=_LABELS,
        build=True,
        launch=True,
        complete=lambda path: (path / "bin" / "python3").exists(),
    )
    runtime = PythonRuntime(layer.path, str(version), version.minor_version, LayerEnv())
    if isinstance(layer.state, Empty):
        _populate(runtime, distribution, out)
    env = layer.write_env(_layer_env(runtime))
    layer.write_metadata(new)
    return PythonRuntime(runtime.layer_dir, runtime.version, runtime.minor_version, env)


def _populate(runtime: PythonRuntime, distribution: Distribution, out: Output) -> None:
    with (
        out.step(f"Installing Python {distribution.version}"),
        tempfile.TemporaryDirectory(prefix="pycnb-python-") as temp,
    ):
        archive = Path(temp) / "python.tar.gz"
        download(distribution.url, archive, sha256=distribution.sha256, progress=out.detail)
        extract_python_archive(archive, runtime.layer_dir)
    _remove_bundled_installers(runtime)
    with out.step("Compiling the standard library"):
        _compile_stdlib(runtime)


def _remove_bundled_installers(runtime: PythonRuntime) -> None:
    # The archives ship pip (and older ones setuptools). Left here they would end up in the
    # image; pip lives in its own build-only layer instead.
    for script in (runtime.layer_dir / "bin").glob("pip*"):
        script.unlink()
    site_packages = runtime.stdlib_dir / "site-packages"
    for pattern in ("pip", "pip-*", "setuptools", "setuptools-*", "_distutils_hack", "*.pth"):
        for path in site_packages.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _compile_stdlib(runtime: PythonRuntime) -> None:
    # checked-hash, not unchecked: a file edited in the image is still picked up. Test suites,
    # where archives ship them, include files that are meant not to compile.
    compile_tree(
        runtime.python,
        runtime.stdlib_dir,
        env={"PATH": "/usr/bin:/bin"},
        cwd=runtime.layer_dir,
        skip=r"/(test|tests|idle_test)/",
    )


def _layer_env(runtime: PythonRuntime) -> LayerEnv:
    include = runtime.layer_dir / "include" / f"python{runtime.minor_version}"
    pkgconfig = runtime.layer_dir / "lib" / "pkgconfig"
    return (
        LayerEnv()
        # Output reaches the log at once instead of when a buffer fills; users may turn it off.
        .add(Scope.LAUNCH, Behavior.DEFAULT, "PYTHONUNBUFFERED", "1")
        # Compilers building C extensions in later buildpacks find Python.h and python3.pc.
        .add(Scope.BUILD, Behavior.PREPEND, "CPATH", str(include), ":")
        .add(Scope.BUILD, Behavior.PREPEND, "PKG_CONFIG_PATH", str(pkgconfig), ":")
    )

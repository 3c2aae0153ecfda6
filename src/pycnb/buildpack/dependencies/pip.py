"""pip: its layer, and the two ways it fills the venv (requirements.txt, or the project itself).

The pip layer holds pip at the pinned version, outside the app's environment.

build + cache, not launch: the image never holds an installer. Only pip projects get this layer.
pip's wheel, from the package index and checked against its pinned sha256 (`tool_wheels.py`), is
unpacked into a plain directory that no interpreter has on its path, as `pip install --target`
would, and compiled. It drives the app's venv through `PIP_PYTHON`, running itself with
`__pip-runner__.py`, which imports exactly this copy of pip.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import CommandFailed, run_captured, run_streamed
from pycnb.buildpack.dependencies.failures import (
    InstallerFailed,
    PipInstallFailed,
    ToolFailures,
)
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.requirements import RequirementsInputs
from pycnb.buildpack.dependencies.tool_versions import PIP_VERSION
from pycnb.buildpack.dependencies.tool_wheels import (
    Prefetch,
    ToolWheelBroken,
    WheelTree,
    pinned_wheel,
)
from pycnb.buildpack.dependencies.unrequired import (
    ResolvedRoots,
    read_report,
    unrequired_distributions,
)
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import PYPROJECT
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = [
    "CACHE_LAYER_NAME",
    "LAYER_NAME",
    "PIP_TREE",
    "Pip",
    "PipInstallFailed",
    "PipLayerMetadata",
    "PipRequirementsInstall",
    "install_pip",
    "pip_project_install",
]

LAYER_NAME = LayerName("pip")
# pip's download and wheel cache (PIP_CACHE_DIR), see download_cache.py.
CACHE_LAYER_NAME = LayerName("pip-cache")


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
    env: Mapping[str, str],
    prefetch: Prefetch,
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
        _populate(layer.path, out, runtime, env, prefetch)
    _write_wrapper(layer.path, runtime)
    layer.write_metadata(new)
    return Pip((str(runtime.python), "-I", str(_runner(layer.path))), PIP_VERSION)


# As `pip install --target` lays it out, less the console scripts in `pip-X.data/`, which could
# not import pip from there: `_write_wrapper` writes ours.
PIP_TREE = WheelTree(
    "pip", "pip", lambda name: None if name.startswith(f"pip-{PIP_VERSION}.data/") else name
)


def _runner(layer_dir: Path) -> Path:
    return layer_dir / "lib" / "pip" / "__pip-runner__.py"


def _populate(
    layer_dir: Path, out: Output, runtime: PythonRuntime, env: Mapping[str, str], prefetch: Prefetch
) -> None:
    lib = layer_dir / "lib"
    with out.step(f"Installing pip {PIP_VERSION}"):
        prefetch.install(PIP_TREE, lib, env=env, progress=out.detail)
        if not _runner(layer_dir).is_file():
            raise ToolWheelBroken("pip", pinned_wheel("pip").file, "it has no __pip-runner__.py")
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


# --- Filling the venv -----------------------------------------------------------------------


@dataclass(frozen=True)
class PipRequirementsInstall:
    """`pip install -r requirements.txt`, then, in a kept venv, uninstalling what the
    requirements no longer need (see `unrequired.py`), which pip alone never does."""

    pip: Pip
    pip_cache_dir: Path
    requirements: RequirementsInputs
    venv: Venv

    syncs = True
    command = "pip install"

    @property
    def inputs(self) -> VenvInputs:
        return VenvInputs(
            package_manager=PackageManager.PIP,
            installer_version=self.pip.version,
            requirements_digest=self.requirements.digest,
            not_reusable=tuple(
                f"{reason}, which can change without requirements.txt changing"
                for reason in self.requirements.not_reusable
            ),
        )

    def install(self, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        venv = self.venv
        requirements_file = str(self.requirements.files[0].relative_to(app_dir))
        pip_env = {**env, **_pip_env(venv, self.pip_cache_dir)}
        # A fresh venv (`--without-pip`: an empty site-packages) has nothing to remove
        # afterwards; a kept one may.
        kept = venv.site_packages.is_dir() and any(venv.site_packages.iterdir())
        argv = [
            *self.pip.argv,
            "install",
            "--requirement",
            requirements_file,
            "--no-input",
            "--progress-bar",
            "off",
        ]
        with ThreadPoolExecutor(max_workers=1) as pool:
            # In a kept venv, pip lists the top-level requirements while it installs them: the
            # listing ignores what is installed, so neither waits for the other.
            roots = (
                pool.submit(self._top_level, requirements_file, app_dir=app_dir, env=pip_env)
                if kept
                else None
            )
            with out.step(f"Installing dependencies from {requirements_file} with pip"):
                try:
                    run_streamed(argv, env=pip_env, cwd=app_dir)
                except CommandFailed as error:
                    raise PipInstallFailed(requirements_file, error.returncode) from None
            if roots is not None:
                self._remove_unrequired(
                    venv, requirements_file, roots.result(), app_dir=app_dir, env=pip_env, out=out
                )

    def _top_level(
        self, requirements_file: str, *, app_dir: Path, env: Mapping[str, str]
    ) -> ResolvedRoots:
        """The top-level requirements as pip reads them, resolved for the venv's interpreter."""
        listing = ["install", "--dry-run", "--ignore-installed", "--no-deps"]
        listing += ["--requirement", requirements_file]
        with tempfile.TemporaryDirectory(prefix="pycnb-pip-report-") as temp:
            report = Path(temp) / "report.json"
            argv = [*self.pip.argv, *listing, "--quiet", "--no-input", "--report", str(report)]
            try:
                run_captured(argv, env=env, cwd=app_dir)
            except CommandFailed as error:
                command = shlex.join(["pip", *listing])
                raise InstallerFailed(
                    PackageManager.PIP, command, error.returncode, error.output
                ) from None
            return read_report(report)

    def _remove_unrequired(
        self,
        venv: Venv,
        requirements_file: str,
        roots: ResolvedRoots,
        *,
        app_dir: Path,
        env: Mapping[str, str],
        out: Output,
    ) -> None:
        leftovers = unrequired_distributions(venv.site_packages, roots)
        if not leftovers:
            return
        uninstall = ["uninstall", "--yes", *leftovers]
        with out.step(f"Removing what {requirements_file} no longer needs: {', '.join(leftovers)}"):
            try:
                run_captured([*self.pip.argv, *uninstall], env=env, cwd=app_dir)
            except CommandFailed as error:
                raise InstallerFailed(
                    PackageManager.PIP,
                    shlex.join(["pip", *uninstall]),
                    error.returncode,
                    error.output,
                ) from None


def pip_project_install(
    pip: Pip, pip_cache_dir: Path, inputs: VenvInputs, venv: Venv, python_version: str
) -> ToolRun:
    """`pip install .`: a PEP 621 project without a lockfile, installed non-editably."""
    groups = inputs.groups
    target = f".[{','.join(groups.extras)}]" if groups.extras else "."
    args = ["install", target]
    for group in groups.groups:
        args += ["--group", group]  # PEP 735, read from ./pyproject.toml (pip >= 25.1)
    return ToolRun(
        inputs=inputs,
        tool="pip",
        executable=pip.argv,
        args=args,
        hidden_args=["--no-input", "--progress-bar", "off"],
        env=_pip_env(venv, pip_cache_dir),
        step=f"Installing the project from {PYPROJECT} with pip",
        python_version=python_version,
        # The installed app is a copy of its code, which pycnb does not track, so a kept venv
        # would hold a stale copy.
        syncs=False,
        failures=ToolFailures(),  # pip's own error is printed above
        stream=True,
    )


def _pip_env(venv: Venv, pip_cache_dir: Path) -> dict[str, str]:
    return {
        "PIP_PYTHON": str(venv.python),
        "PIP_CACHE_DIR": str(pip_cache_dir),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # pip's own config files on the build machine must not change the app's environment;
        # settings come from PIP_* env vars, which the user controls through the platform.
        "PIP_CONFIG_FILE": "/dev/null",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
    }

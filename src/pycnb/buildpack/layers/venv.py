"""The venv layer: the app's dependencies in a PEP 405 virtual environment.

build + launch + cache. Its `bin/` is on PATH and `VIRTUAL_ENV` is set, so nothing needs
activating at run time, and it sorts after `python`, so its `bin/` comes first on PATH.

Unlike the reference design, which reinstalls into a fresh venv on every build, the previous venv
is reused when nothing that decides its content changed: every requirements file pip reads, the
Python, the pip version, the target, and the user's pip settings. Reuse is safe only because the
key is complete and because requirements that can change without their file changing (local
paths, editable installs, VCS and direct URLs, `${VAR}`) turn reuse off. When anything changed
the venv is rebuilt from scratch rather than updated: pip never uninstalls a package that was
removed from requirements.txt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.layers.pip import Pip
from pycnb.buildpack.layers.python import PythonRuntime
from pycnb.buildpack.output import Output
from pycnb.buildpack.process import CommandFailed, run_captured, run_streamed
from pycnb.buildpack.requirements import RequirementsInputs
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.layers import (
    CachedLayer,
    Empty,
    InvalidMetadata,
    Rejected,
    Restored,
    RestoredLayerAction,
)
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "PipInstallFailed", "VenvLayerMetadata", "install_with_pip"]

LAYER_NAME = LayerName("venv")

# pip's ZIP handling rejects dates before 1980, and with this set py_compile writes hash-based
# .pyc files, which stay valid after the lifecycle resets mtimes to 1980 on export.
_SOURCE_DATE_EPOCH = "315532801"


@dataclass(frozen=True)
class VenvLayerMetadata:
    package_manager: str
    python_version: str
    installer_version: str
    requirements_digest: str
    # A digest of the user's PIP_* settings (an index URL changes what gets installed). Only
    # the digest is stored: the values may hold credentials.
    installer_settings_digest: str
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "package_manager": "package manager",
    "python_version": "Python version",
    "installer_version": "installer version",
    "requirements_digest": "requirements",
    "installer_settings_digest": "installer settings (PIP_* env vars)",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


@dataclass
class PipInstallFailed(Exception):
    requirements_file: str
    returncode: int

    def __str__(self) -> str:
        return f"pip install -r {self.requirements_file} exited with status {self.returncode}"


def install_with_pip(
    ctx: BuildContext,
    out: Output,
    *,
    runtime: PythonRuntime,
    pip: Pip,
    pip_cache_dir: Path,
    requirements: RequirementsInputs,
    env: Mapping[str, str],
) -> LayerEnv:
    new = VenvLayerMetadata(
        package_manager="pip",
        python_version=runtime.version,
        installer_version=pip.version,
        requirements_digest=requirements.digest,
        installer_settings_digest=_settings_digest(env, prefix="PIP_"),
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    def restored_layer_action(
        old: VenvLayerMetadata, path: Path
    ) -> tuple[RestoredLayerAction, list[str]]:
        if requirements.not_reusable:
            return RestoredLayerAction.DELETE, [
                f"{reason}, which can change without requirements.txt changing"
                for reason in requirements.not_reusable
            ]
        reasons = changed_inputs(old, new, _LABELS)
        if not reasons and not (path / "bin" / "python").exists():
            reasons = ["The cached virtual environment is incomplete"]
        return (RestoredLayerAction.DELETE if reasons else RestoredLayerAction.KEEP), reasons

    layer = ctx.cached_layer(
        LAYER_NAME,
        CachedLayer(
            build=True,
            launch=True,
            metadata_type=VenvLayerMetadata,
            restored_layer_action=restored_layer_action,
        ),
    )
    venv_python = layer.path / "bin" / "python"
    match layer.state:
        case Restored():
            out.info("Using the cached virtual environment: its inputs have not changed")
            out.detail("Skipping pip install")
        case Empty(cause=cause):
            match cause:
                case Rejected(cause=reasons):
                    out.reasons("Rebuilding the virtual environment since:", reasons)
                case InvalidMetadata():
                    out.info("Rebuilding the virtual environment: its cached metadata is invalid")
                case _:
                    pass
            _create_venv(runtime, layer.path, env)
            _pip_install(
                pip,
                venv_python=venv_python,
                pip_cache_dir=pip_cache_dir,
                requirements_file=requirements.files[0],
                app_dir=ctx.app_dir,
                env=env,
                out=out,
            )
    layer_env = layer.write_env(
        LayerEnv()
        .add(Scope.ALL, Behavior.OVERRIDE, "VIRTUAL_ENV", str(layer.path))
        # Later buildpacks that run `pip install` install into the app's venv.
        .add(Scope.BUILD, Behavior.OVERRIDE, "PIP_PYTHON", str(venv_python))
    )
    layer.write_metadata(new)
    return layer_env


def _create_venv(runtime: PythonRuntime, venv_dir: Path, env: Mapping[str, str]) -> None:
    # --without-pip: the app's environment never holds an installer.
    run_captured(
        [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv_dir)],
        env=env,
        cwd=venv_dir,
    )


def _pip_install(
    pip: Pip,
    *,
    venv_python: Path,
    pip_cache_dir: Path,
    requirements_file: Path,
    app_dir: Path,
    env: Mapping[str, str],
    out: Output,
) -> None:
    pip_env = {
        **env,
        "PIP_PYTHON": str(venv_python),
        "PIP_CACHE_DIR": str(pip_cache_dir),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # pip's own config files on the build machine must not change the app's environment;
        # settings come from PIP_* env vars, which the user controls through the platform.
        "PIP_CONFIG_FILE": "/dev/null",
        "SOURCE_DATE_EPOCH": _SOURCE_DATE_EPOCH,
    }
    argv = [
        *pip.argv,
        "install",
        "--requirement",
        str(requirements_file.relative_to(app_dir)),
        "--no-input",
        "--progress-bar",
        "off",
    ]
    with out.step(f"Installing dependencies from {requirements_file.name} with pip"):
        try:
            run_streamed(argv, env=pip_env, cwd=app_dir)
        except CommandFailed as error:
            raise PipInstallFailed(requirements_file.name, error.returncode) from None


def _settings_digest(env: Mapping[str, str], *, prefix: str) -> str:
    digest = hashlib.sha256()
    for name in sorted(name for name in env if name.startswith(prefix)):
        digest.update(f"{name}\0{env[name]}\0".encode(errors="surrogateescape"))
    return digest.hexdigest()

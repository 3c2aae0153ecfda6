"""The uv layer: uv at the pinned version, outside the app's environment, and `uv sync`.

build + cache, not launch: the image never holds an installer, and later buildpacks find `uv` on
PATH. uv comes from its wheel on the package index (the wheel carries the binary), installed by
the bootstrap pip (see bootstrap_pip.py) with the user's PIP_* settings, so a private mirror of
the index is enough; no download from anywhere else is needed, and no pip layer either.

`uv sync` fills the venv layer (see `venv.py` for when it runs at all). uv is pointed at our
Python and our venv only: `UV_PROJECT_ENVIRONMENT` names the venv, `--python` its interpreter,
and `UV_PYTHON_DOWNLOADS=never` / `UV_NO_MANAGED_PYTHON` stop it from fetching or picking any
other Python (its download host may be unreachable, and a different Python would not be ours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_versions import UV_VERSION
from pycnb.buildpack.dependencies.venv import LAYER_NAME as VENV_LAYER
from pycnb.buildpack.dependencies.venv import (
    SOURCE_DATE_EPOCH,
    InstallerFailed,
    LockfileOutdated,
    PythonRejected,
    Venv,
    VenvInputs,
)
from pycnb.buildpack.layers.keyed import open_keyed_layer
from pycnb.buildpack.output import Output
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = ["LAYER_NAME", "Uv", "UvLayerMetadata", "UvSync", "classify_uv_failure", "install_uv"]

# Sorts before `venv`, so the app's venv comes first on PATH for later buildpacks.
LAYER_NAME = LayerName("uv")


@dataclass(frozen=True)
class UvLayerMetadata:
    uv_version: str
    # uv is a compiled binary, and the wheel pip picks depends on the libc (manylinux or
    # musllinux). It does not depend on the Python version.
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "uv_version": "uv version",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


@dataclass(frozen=True)
class Uv:
    executable: Path
    version: str


def install_uv(
    ctx: BuildContext, out: Output, bootstrap: BootstrapPip, env: Mapping[str, str]
) -> Uv:
    new = UvLayerMetadata(
        uv_version=UV_VERSION,
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    layer = open_keyed_layer(
        ctx,
        out,
        name=LAYER_NAME,
        what="uv",
        version=UV_VERSION,
        metadata=new,
        labels=_LABELS,
        build=True,
        launch=False,
        complete=lambda path: _executable(path).is_file(),
    )
    if isinstance(layer.state, Empty):
        _populate(layer.path, out, bootstrap, env)
    layer.write_env(_later_buildpacks_env(ctx))
    layer.write_metadata(new)
    return Uv(_executable(layer.path), UV_VERSION)


def _executable(layer_dir: Path) -> Path:
    return layer_dir / "bin" / "uv"


def _populate(
    layer_dir: Path, out: Output, bootstrap: BootstrapPip, env: Mapping[str, str]
) -> None:
    with out.step(f"Installing uv {UV_VERSION}"):
        bootstrap.install(
            "uv",
            f"uv=={UV_VERSION}",
            # The wheel's `uv` binary lands in <layer>/bin (on PATH for later buildpacks), its
            # tiny Python package beside it, where no interpreter looks; nothing to compile.
            ["--target", str(layer_dir), "--no-deps"],
            env=env,
            cwd=layer_dir,
        )


def _later_buildpacks_env(ctx: BuildContext) -> LayerEnv:
    # A later buildpack running `uv` gets the same guard rails: our venv, no other Python.
    return (
        LayerEnv()
        .add(
            Scope.BUILD,
            Behavior.OVERRIDE,
            "UV_PROJECT_ENVIRONMENT",
            str(ctx.layers_dir / str(VENV_LAYER)),
        )
        .add(Scope.BUILD, Behavior.OVERRIDE, "UV_PYTHON_DOWNLOADS", "never")
        .add(Scope.BUILD, Behavior.OVERRIDE, "UV_NO_MANAGED_PYTHON", "1")
    )


# --- uv sync ---------------------------------------------------------------------------------

# uv's wording at the pinned version, for errors that deserve their own fix. A bump that changes
# the wording falls back to the generic error (which still shows uv's message); the unit tests
# pin these against uv's real output.
_LOCK_OUTDATED = "needs to be updated, but `--locked` was provided"
_PYTHON_REJECTED = "incompatible with the project's Python requirement"


@dataclass(frozen=True)
class UvSync:
    """`uv sync --locked`: the venv becomes exactly what uv.lock says, for the chosen groups."""

    uv: Uv
    cache_dir: Path
    lock_digest: str
    project_digest: str
    groups: GroupSelection
    python_version: str

    syncs = True  # uv sync removes what the lock no longer lists
    command = "uv sync"

    @property
    def inputs(self) -> VenvInputs:
        return VenvInputs(
            package_manager=PackageManager.UV,
            installer_version=self.uv.version,
            requirements_digest=self.lock_digest,
            project_digest=self.project_digest,
            groups=self.groups,
        )

    def visible_args(self) -> list[str]:
        """The arguments that decide what gets installed, as the log shows them."""
        args = [
            "sync",
            "--locked",  # fail, rather than re-lock, when uv.lock is out of date
            "--no-default-groups",  # no `dev` group unless BP_PYTHON_GROUPS asks for it
        ]
        for group in self.groups.groups:
            args += ["--group", group]
        for extra in self.groups.extras:
            args += ["--extra", extra]
        return args

    def install(self, venv: Venv, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        argv = [
            str(self.uv.executable),
            *self.visible_args(),
            # Compiled now, hash-based (SOURCE_DATE_EPOCH below), so the app starts faster and
            # the .pyc files stay valid after export resets mtimes.
            "--compile-bytecode",
            "--no-progress",
            "--python",
            str(venv.python),
        ]
        uv_env = {
            **env,
            "UV_PROJECT_ENVIRONMENT": str(venv.path),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_MANAGED_PYTHON": "1",
            "UV_CACHE_DIR": str(self.cache_dir),
            # What activating the venv would set; uv warns when it differs from the project env.
            "VIRTUAL_ENV": str(venv.path),
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        }
        # Copies, not uv's default hardlinks into its cache: a hardlinked file is one inode in
        # two layers, so anything that edits an installed file in place (a later buildpack, the
        # app at run time) would silently corrupt the cache that later builds install from, and
        # a platform that tracks cached files' inodes sees the venv "change after caching". The
        # user may still choose another mode.
        uv_env.setdefault("UV_LINK_MODE", "copy")
        with out.step("Installing dependencies from uv.lock with uv"):
            out.detail("Running: uv " + " ".join(self.visible_args()))
            try:
                output = run_captured(argv, env=uv_env, cwd=app_dir)
            except CommandFailed as error:
                raise classify_uv_failure(
                    error, self.python_version, "uv " + " ".join(self.visible_args())
                ) from None
            for line in output.splitlines():
                out.detail(line)


def classify_uv_failure(
    error: CommandFailed, python_version: str, command: str
) -> LockfileOutdated | PythonRejected | InstallerFailed:
    output = error.output or ""
    if _LOCK_OUTDATED in output:
        return LockfileOutdated(PackageManager.UV, output)
    if _PYTHON_REJECTED in output:
        return PythonRejected(PackageManager.UV, python_version, output)
    return InstallerFailed(PackageManager.UV, command, error.returncode, output)

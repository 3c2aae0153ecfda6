"""uv: its layer (data for `tools.py`) and `uv sync --locked` (data for `installer.ToolRun`).

uv comes from its wheel on the package index (the wheel carries the binary), so no pip layer and
no other download is needed. uv is pointed at our Python and our venv only:
`UV_PROJECT_ENVIRONMENT` names the venv, `--python` its interpreter, and
`UV_PYTHON_DOWNLOADS=never` / `UV_NO_MANAGED_PYTHON` stop it from fetching or picking any other
Python (its download host may be unreachable, and a different Python would not be ours).

uv's cache is a scratch layer beside the venv, from which uv hardlinks the installed files (see
`download_cache.py` for why it is not kept).
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.failures import ToolFailures
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_versions import UV_VERSION
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec
from pycnb.buildpack.dependencies.trust import TlsClient
from pycnb.buildpack.dependencies.venv import LAYER_NAME as VENV_LAYER
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.names import LayerName

__all__ = ["FAILURES", "UV", "sync_args", "uv_sync"]


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


UV = ToolSpec(
    package_manager=PackageManager.UV,
    name="uv",
    executable="uv",
    version=UV_VERSION,
    layer=LayerName("uv"),
    cache_layer=LayerName("uv-cache"),
    keeps_cache=False,
    locked_requirements=None,
    later_buildpacks_env=_later_buildpacks_env,
)

# uv's wording at the pinned version.
FAILURES = ToolFailures(
    lock_outdated="needs to be updated, but `--locked` was provided",
    python_rejected="incompatible with the project's Python requirement",
    root_not_installable="@ file://{app_dir}`",
    skip_root_args=("--no-install-project",),
)


def sync_args(groups: GroupSelection) -> list[str]:
    """The arguments that decide what gets installed, as the log shows them."""
    args = [
        "sync",
        "--locked",  # fail, rather than re-lock, when uv.lock is out of date
        "--no-default-groups",  # no `dev` group unless BP_PYTHON_GROUPS asks for it
    ]
    for group in groups.groups:
        args += ["--group", group]
    for extra in groups.extras:
        args += ["--extra", extra]
    return args


def uv_sync(
    uv: InstalledTool, cache_dir: Path, inputs: VenvInputs, venv: Venv, python_version: str
) -> ToolRun:
    """`uv sync --locked`: the venv becomes exactly what uv.lock says, for the chosen groups."""
    return ToolRun(
        inputs=inputs,
        tool="uv",
        executable=[str(uv.executable)],
        args=sync_args(inputs.groups),
        hidden_args=[
            "--no-progress",
            "--python",
            str(venv.python),
        ],
        env={
            "UV_PROJECT_ENVIRONMENT": str(venv.path),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_MANAGED_PYTHON": "1",
            "UV_CACHE_DIR": str(cache_dir),
            # What activating the venv would set; uv warns when it differs from the project env.
            "VIRTUAL_ENV": str(venv.path),
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
            # Links, not copies: no file is written twice. The cache is scratch, on the venv's
            # file system, so the venv ends up the files' only owner.
            "UV_LINK_MODE": "hardlink",
        },
        step="Installing dependencies from uv.lock with uv",
        python_version=python_version,
        syncs=True,  # uv sync removes what the lock no longer lists
        failures=FAILURES,
        tls=TlsClient.UV,
        # Compiled now, hash-based, so the app starts faster and the .pyc files stay valid after
        # export resets mtimes; by us rather than uv's --compile-bytecode, which would recompile
        # the whole kept venv after a one-pin change (see bytecode.py).
        bytecode=(venv.python, venv.path / "lib"),
    )

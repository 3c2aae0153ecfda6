"""PDM: its layer (data for `tools.py`) and `pdm sync` (data for `installer.ToolRun`).

PDM is a Python application with dependencies of its own, so, like Poetry, it gets a private venv
in its layer, filled from `data/pdm-requirements.txt` (every dependency pinned with hashes). It
is pointed at our venv's Python (`PDM_PYTHON`, with `VIRTUAL_ENV`), so it never creates a venv,
looks for another interpreter or downloads one; its user config file is replaced by one in its
layer that does not exist, so the build machine's config cannot change the build. PDM reads the
system's trust store itself (truststore).

`pdm sync` only warns when pdm.lock no longer matches pyproject.toml, so `pdm lock --check` runs
first and fails the build instead. PDM writes no .pyc files, so the venv is compiled after it,
hash-based, as the other tools do it.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.failures import ToolFailures
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_versions import PDM_LOCK, PDM_VERSION
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec
from pycnb.buildpack.dependencies.trust import TlsClient
from pycnb.buildpack.dependencies.venv import LAYER_NAME as VENV_LAYER
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.buildpack.project import Pyproject
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.names import LayerName

__all__ = ["CHECK_ARGS", "FAILURES", "PDM", "installs_the_project", "pdm_sync", "sync_args"]


def _our_python(venv: Path) -> dict[str, str]:
    return {"VIRTUAL_ENV": str(venv), "PDM_PYTHON": str(venv / "bin" / "python")}


def _later_buildpacks_env(ctx: BuildContext) -> LayerEnv:
    # A later buildpack running `pdm` installs into our venv with our Python too.
    env = LayerEnv()
    for name, value in _our_python(ctx.layers_dir / str(VENV_LAYER)).items():
        env = env.add(Scope.BUILD, Behavior.OVERRIDE, name, value)
    return env.add(Scope.BUILD, Behavior.OVERRIDE, "PDM_CHECK_UPDATE", "false")


PDM = ToolSpec(
    package_manager=PackageManager.PDM,
    name="PDM",
    executable="pdm",
    version=PDM_VERSION,
    # Sorts before `python` and `venv`: on PATH it comes after both.
    layer=LayerName("pdm"),
    cache_layer=LayerName("pdm-cache"),
    locked_requirements=PDM_LOCK,
    later_buildpacks_env=_later_buildpacks_env,
    empty_dirs=("config",),
)

# PDM's wording at the pinned version (`pdm lock --check`).
FAILURES = ToolFailures(
    lock_outdated="Lockfile doesn't satisfy the project requirements",
    # lock_version 3.x (PDM 1.x) or newer than it reads; every 4.x it reads, with a warning.
    lock_format="Lockfile is not compatible with PDM",
)

CHECK_ARGS = ("lock", "--check")


def installs_the_project(pyproject: Pyproject | None) -> bool:
    """Whether PDM installs the project itself: `[tool.pdm] distribution = true`, or a build
    system and no `distribution = false` (PDM's own default)."""
    if pyproject is None:
        return False
    distribution = pyproject.pdm_distribution()
    return distribution if distribution is not None else pyproject.has_build_system


def sync_args(
    groups: GroupSelection, dev_groups: tuple[str, ...], *, self_install: bool
) -> list[str]:
    """The arguments that decide what gets installed, as the log shows them. `dev_groups` are
    the project's dependency groups (PEP 735 and `[tool.pdm.dev-dependencies]`)."""
    args = ["sync"]
    # `--prod` leaves out every dev group, and PDM refuses it next to a dev group that
    # BP_PYTHON_GROUPS names; then the named groups are the whole selection.
    if not set(groups.groups) & set(dev_groups):
        args.append("--prod")
    args += [
        "--only-keep",  # remove what the selection no longer has, so a kept venv matches it
        "--no-editable",  # the image gets a copy, not a link into the source tree
    ]
    if not self_install:
        args.append("--no-self")
    for name in groups.names:
        args += ["-G", name]
    return args


def pdm_sync(
    pdm: InstalledTool,
    cache_dir: Path,
    inputs: VenvInputs,
    venv: Venv,
    python_version: str,
    *,
    dev_groups: tuple[str, ...],
    self_install: bool,
) -> ToolRun:
    """`pdm lock --check`, then `pdm sync --prod`: the venv becomes exactly what pdm.lock says
    for the chosen groups."""
    return ToolRun(
        inputs=inputs,
        tool="pdm",
        executable=[str(pdm.executable)],
        args=sync_args(inputs.groups, dev_groups, self_install=self_install),
        hidden_args=["--fail-fast"],
        check_args=CHECK_ARGS,
        env={
            **_our_python(venv.path),
            "PDM_CACHE_DIR": str(cache_dir),
            "PDM_CONFIG_FILE": str(pdm.layer_dir / "config" / "config.toml"),
            "PDM_CHECK_UPDATE": "false",
            "PDM_NON_INTERACTIVE": "1",
            "PDM_FROZEN_LOCKFILE": "1",  # never rewrite pdm.lock
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        },
        path_prepend=[venv.path / "bin", pdm.executable.parent],
        step="Installing dependencies from pdm.lock with PDM",
        python_version=python_version,
        syncs=True,  # --only-keep removes what the selection no longer has
        failures=FAILURES,
        tls=TlsClient.TRUSTSTORE,
        bytecode=(venv.python, venv.path / "lib"),
    )

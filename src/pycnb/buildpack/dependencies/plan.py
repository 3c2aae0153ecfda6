"""The app's dependencies: which package manager, which groups, and the install itself.

`plan_dependencies` reads and checks everything before anything is installed (the package
manager file, pyproject.toml, BP_PYTHON_GROUPS), so a mistake fails the build in a second.
`install_app_dependencies` installs the chosen tool into its build-only layer and lets it fill
the venv layer. Whatever the tool, the image gets only the venv, and only that tool is installed:
a uv or Poetry app gets no pip layer.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.dependencies import pdm, pip, pipenv, poetry, uv
from pycnb.buildpack.dependencies.digests import files_digest
from pycnb.buildpack.dependencies.download_cache import (
    prepare_download_cache,
    scratch_download_cache,
)
from pycnb.buildpack.dependencies.groups import (
    GROUPS_SETTING,
    GroupSelection,
    parse_groups_setting,
    select_groups,
)
from pycnb.buildpack.dependencies.installer import Installer, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import (
    PackageManager,
    PyprojectWithoutLockfile,
    determine_package_manager,
    requirements_export,
)
from pycnb.buildpack.dependencies.pipfile import Pipfile
from pycnb.buildpack.dependencies.requirements import RequirementsInputs, read_requirements_inputs
from pycnb.buildpack.dependencies.tool_wheels import Prefetch
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec, binary_tree, install_tool
from pycnb.buildpack.dependencies.venv import Venv, install_dependencies, venv_of
from pycnb.buildpack.messages.dependencies import render_dependency_warning
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import Pyproject
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.buildpack.settings import Settings
from pycnb.cnb.context import BuildContext

__all__ = [
    "SYNC_TOOLS",
    "DependencyPlan",
    "install_app_dependencies",
    "plan_dependencies",
    "start_prefetch",
]

# (tool, venv inputs, venv, Python version) -> the run that fills the venv.
SyncCommand = Callable[[InstalledTool, Path, VenvInputs, Venv, str], ToolRun]

# The package managers that sync a lockfile with a tool of their own: each is a spec of its layer
# and a function that says how to run it. Adding one is adding its module and a line here.
SYNC_TOOLS: dict[PackageManager, tuple[ToolSpec, SyncCommand]] = {
    PackageManager.UV: (uv.UV, uv.uv_sync),
    PackageManager.POETRY: (poetry.POETRY, poetry.poetry_sync),
    PackageManager.PIPENV: (pipenv.PIPENV, pipenv.pipenv_sync),
    # PDM's command also depends on pyproject.toml: see `_sync_command`.
    PackageManager.PDM: (
        pdm.PDM,
        functools.partial(pdm.pdm_sync, dev_groups=(), self_install=False),
    ),
}


@dataclass(frozen=True)
class DependencyPlan:
    package_manager: PackageManager
    groups: GroupSelection
    requirements: RequirementsInputs | None  # requirements.txt and its includes (pip only)
    lock_digest: str  # the lockfile (uv, Poetry, Pipenv, PDM); "" otherwise
    project_digest: str  # pyproject.toml or Pipfile, and the tool's config file; "" for pip
    pyproject: Pyproject | None = None


def plan_dependencies(
    app_dir: Path,
    pyproject: Pyproject | None,
    pipfile: Pipfile | None,
    settings: Settings,
    out: Output,
) -> DependencyPlan:
    """`pyproject`, `pipfile`: the app's, as the build read them, if it has them."""
    package_manager = determine_package_manager(app_dir, pyproject)
    if package_manager is not PackageManager.PIPENV:
        pipfile = None  # its categories mean nothing to another package manager
    groups = select_groups(
        parse_groups_setting(settings.get(GROUPS_SETTING)), package_manager, pyproject, pipfile
    )
    requirements = None
    if package_manager is PackageManager.PIP:
        requirements = read_requirements_inputs(app_dir, package_manager.file_name)
    locks = package_manager in SYNC_TOOLS
    out.info(f"Using {package_manager.tool} ({package_manager.file_name})")
    if locks and (export := requirements_export(app_dir, package_manager)) is not None:
        out.info(
            f"Ignoring requirements.txt: it is an export of {export.lockfile} ({export.why}), "
            f"so {package_manager.tool} installs the lockfile itself"
        )
    if groups.names:
        out.info(f"Including {', '.join(groups.names)} from {GROUPS_SETTING}")
    if package_manager is PackageManager.PYPROJECT:
        out.warning(render_dependency_warning(PyprojectWithoutLockfile()))
    return DependencyPlan(
        package_manager=package_manager,
        groups=groups,
        requirements=requirements,
        lock_digest=files_digest(app_dir, (package_manager.file_name,)) if locks else "",
        project_digest=files_digest(app_dir, package_manager.project_files),
        pyproject=pyproject,
    )


def start_prefetch(ctx: BuildContext, plan: DependencyPlan, prefetch: Prefetch) -> None:
    """Start fetching the wheel the plan's tool layer will be made from, unless that layer came
    back from the cache (then it is most likely kept, and the download would be wasted)."""
    if plan.package_manager in SYNC_TOOLS:  # every one of them is installed with uv
        layer, tree = uv.UV.layer, binary_tree(uv.UV)
    else:
        layer, tree = pip.LAYER_NAME, pip.PIP_TREE
    if not (ctx.layers_dir / f"{layer}.toml").exists():
        prefetch.start(tree)


def install_app_dependencies(
    ctx: BuildContext,
    out: Output,
    plan: DependencyPlan,
    *,
    runtime: PythonRuntime,
    env: Mapping[str, str],
    prefetch: Prefetch,
) -> Venv:
    installer = _installer(ctx, out, plan, runtime=runtime, env=env, prefetch=prefetch)
    return install_dependencies(ctx, out, runtime=runtime, installer=installer, env=env)


def _installer(
    ctx: BuildContext,
    out: Output,
    plan: DependencyPlan,
    *,
    runtime: PythonRuntime,
    env: Mapping[str, str],
    prefetch: Prefetch,
) -> Installer:
    """Install the plan's tool into its layer; return what fills the venv with it."""
    venv = venv_of(ctx)
    pm = plan.package_manager
    if pm in SYNC_TOOLS:
        spec, sync = SYNC_TOOLS[pm]
        # uv installs the other tools too: it downloads in parallel and compiles on every CPU.
        uv_tool = install_tool(ctx, out, uv.UV, runtime=runtime, env=env, prefetch=prefetch)
        tool = (
            uv_tool
            if spec is uv.UV
            else install_tool(
                ctx, out, spec, runtime=runtime, env=env, prefetch=prefetch, uv=uv_tool
            )
        )
        cache_dir = (
            prepare_download_cache(ctx, out, spec.cache_layer, spec.name)
            if spec.keeps_cache
            else scratch_download_cache(ctx, spec.cache_layer)
        )
        inputs = _lock_inputs(plan, tool.version)
        return _sync_command(plan, sync)(tool, cache_dir, inputs, venv, runtime.version)
    installed_pip = pip.install_pip(ctx, out, runtime, env, prefetch)
    cache_dir = prepare_download_cache(ctx, out, pip.CACHE_LAYER_NAME, "pip")
    if pm is PackageManager.PYPROJECT:
        inputs = VenvInputs(
            pm,
            installed_pip.version,
            requirements_digest="",
            project_digest=plan.project_digest,
            groups=plan.groups,
            # The installed app is a copy of its code, which pycnb does not track.
            not_reusable=(
                "pip installs the app itself from pyproject.toml, so its code is an input",
            ),
        )
        return pip.pip_project_install(installed_pip, cache_dir, inputs, venv, runtime.version)
    if plan.requirements is None:  # plan_dependencies always reads them for pip
        raise AssertionError("requirements.txt was not read")
    return pip.PipRequirementsInstall(installed_pip, cache_dir, plan.requirements, venv)


def _lock_inputs(plan: DependencyPlan, tool_version: str) -> VenvInputs:
    pm = plan.package_manager
    inputs = VenvInputs(pm, tool_version, plan.lock_digest, plan.project_digest, plan.groups)
    match pm:
        case PackageManager.PIPENV:
            # `pipenv sync --clean` keeps what any category of the lock lists, so a category
            # dropped from BP_PYTHON_GROUPS would stay installed in a kept venv.
            return dataclasses.replace(inputs, recreate_on=("groups",))
        case PackageManager.PDM if pdm.installs_the_project(plan.pyproject):
            # The installed app is a copy of its code, which pycnb does not track.
            reason = "PDM installs the app itself (a build system, or [tool.pdm] distribution)"
            return dataclasses.replace(inputs, not_reusable=(reason,))
        case _:
            return inputs


def _sync_command(plan: DependencyPlan, sync: SyncCommand) -> SyncCommand:
    """The tool's sync command, with what it needs from the project beyond the venv inputs."""
    match plan.package_manager:
        case PackageManager.PDM:
            self_install = pdm.installs_the_project(plan.pyproject)
            dev_groups = plan.pyproject.pdm_groups() if plan.pyproject is not None else ()
            return functools.partial(pdm.pdm_sync, dev_groups=dev_groups, self_install=self_install)
        case _:
            return sync

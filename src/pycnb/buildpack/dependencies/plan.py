"""The app's dependencies: which package manager, which groups, and the install itself.

`plan_dependencies` reads and checks everything before anything is installed (the package
manager file, pyproject.toml, BP_PYTHON_GROUPS), so a mistake fails the build in a second.
`install_app_dependencies` installs the chosen tool into its build-only layer and lets it fill
the venv layer. Whatever the tool, the image gets only the venv, and only that tool is installed:
a uv or Poetry app gets no pip layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip
from pycnb.buildpack.dependencies.groups import (
    GROUPS_SETTING,
    GroupSelection,
    parse_groups_setting,
    select_groups,
)
from pycnb.buildpack.dependencies.package_manager import (
    PackageManager,
    PyprojectWithoutLockfile,
    determine_package_manager,
)
from pycnb.buildpack.dependencies.pip import install_pip
from pycnb.buildpack.dependencies.pip_cache import prepare_pip_cache
from pycnb.buildpack.dependencies.poetry import PoetrySync, install_poetry
from pycnb.buildpack.dependencies.poetry_cache import prepare_poetry_cache
from pycnb.buildpack.dependencies.requirements import RequirementsInputs, read_requirements_inputs
from pycnb.buildpack.dependencies.uv import UvSync, install_uv
from pycnb.buildpack.dependencies.uv_cache import prepare_uv_cache
from pycnb.buildpack.dependencies.venv import (
    Installer,
    PipProjectInstall,
    PipRequirementsInstall,
    files_digest,
    install_dependencies,
    project_files,
)
from pycnb.buildpack.messages.dependencies import render_dependency_warning
from pycnb.buildpack.output import Output
from pycnb.buildpack.project import read_pyproject
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.buildpack.settings import Settings
from pycnb.cnb.context import BuildContext

__all__ = ["DependencyPlan", "install_app_dependencies", "plan_dependencies"]


@dataclass(frozen=True)
class DependencyPlan:
    package_manager: PackageManager
    groups: GroupSelection
    requirements: RequirementsInputs | None  # requirements.txt and its includes (pip only)
    lock_digest: str  # the lockfile (uv, Poetry); "" otherwise
    project_digest: str  # pyproject.toml and the tool's config file; "" for requirements.txt


def plan_dependencies(app_dir: Path, settings: Settings, out: Output) -> DependencyPlan:
    pyproject = read_pyproject(app_dir)
    package_manager = determine_package_manager(app_dir, pyproject)
    groups = select_groups(
        parse_groups_setting(settings.get(GROUPS_SETTING)), package_manager, pyproject
    )
    requirements = None
    if package_manager is PackageManager.PIP:
        requirements = read_requirements_inputs(app_dir, package_manager.file_name)
    locks = package_manager in (PackageManager.UV, PackageManager.POETRY)
    out.info(f"Using {package_manager.tool} ({package_manager.file_name})")
    if groups.names:
        out.info(f"Including {', '.join(groups.names)} from {GROUPS_SETTING}")
    if package_manager is PackageManager.PYPROJECT:
        out.warning(render_dependency_warning(PyprojectWithoutLockfile()))
    return DependencyPlan(
        package_manager=package_manager,
        groups=groups,
        requirements=requirements,
        lock_digest=files_digest(app_dir, (package_manager.file_name,)) if locks else "",
        project_digest=files_digest(app_dir, project_files(package_manager)),
    )


def install_app_dependencies(
    ctx: BuildContext,
    out: Output,
    plan: DependencyPlan,
    *,
    runtime: PythonRuntime,
    env: Mapping[str, str],
) -> None:
    # The bootstrap pip (unpacked only if a tool layer has to be filled) is gone before the
    # venv is installed: the tools run from their own layers.
    with BootstrapPip(runtime) as bootstrap:
        installer = _installer(ctx, out, plan, runtime=runtime, bootstrap=bootstrap, env=env)
    install_dependencies(ctx, out, runtime=runtime, installer=installer, env=env)


def _installer(
    ctx: BuildContext,
    out: Output,
    plan: DependencyPlan,
    *,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> Installer:
    """Install the plan's tool into its layer; return what fills the venv with it."""
    match plan.package_manager:
        case PackageManager.PIP:
            if plan.requirements is None:  # plan_dependencies always reads them for pip
                raise AssertionError("requirements.txt was not read")
            pip = install_pip(ctx, out, runtime, bootstrap, env)
            return PipRequirementsInstall(pip, prepare_pip_cache(ctx, out), plan.requirements)
        case PackageManager.PYPROJECT:
            pip = install_pip(ctx, out, runtime, bootstrap, env)
            return PipProjectInstall(
                pip, prepare_pip_cache(ctx, out), plan.project_digest, plan.groups
            )
        case PackageManager.UV:
            return UvSync(
                install_uv(ctx, out, bootstrap, env),
                prepare_uv_cache(ctx, out),
                plan.lock_digest,
                plan.project_digest,
                plan.groups,
                runtime.version,
            )
        case PackageManager.POETRY:
            return PoetrySync(
                install_poetry(ctx, out, runtime, bootstrap, env),
                prepare_poetry_cache(ctx, out),
                plan.lock_digest,
                plan.project_digest,
                plan.groups,
                runtime.version,
            )

"""The venv layer: the app's dependencies in a PEP 405 virtual environment.

build + launch + cache. Its `bin/` is on PATH and `VIRTUAL_ENV` is set, so nothing needs
activating at run time, and it sorts after `python`, so its `bin/` comes first on PATH. Every
package manager installs into this one layer; only the installer differs (pip, uv, Poetry), and
it always runs from a build-only layer of its own, so the image holds no installer.

Unlike the reference design, which reinstalls into a fresh venv on every build, the previous venv
is reused when nothing that decides its content changed: the lockfile or requirements files,
pyproject.toml and the tool's config file, the groups chosen in BP_PYTHON_GROUPS, the Python, the
installer version, the target, and the user's installer settings. On a change, every installer
*syncs* the kept venv: it ends up exactly as the requirements or lock say, with what they dropped
removed, and only what changed is downloaded, unpacked and compiled.

| what changed                                            | the venv                  |
|---------------------------------------------------------|---------------------------|
| nothing                                                 | reused, the tool not run  |
| requirements or lock, project files, groups, settings,  | kept, synced              |
| installer version                                       |                           |
| package manager, Python, arch, distro                   | fresh                     |

uv and Poetry sync by themselves. pip never uninstalls what requirements.txt stopped listing, so
after `pip install -r` pycnb removes what no requirement reaches any more (`unrequired.py`).
Requirements that can change without any file changing (local paths, editable installs, VCS and
direct URLs, `${VAR}`) turn reuse off for pip, and so does a pyproject.toml without a lockfile,
since pip then installs the app's own code. A new package manager or Python never inherits the
old venv: a venv's interpreter is fixed when it is made, and one tool's leftovers are not another
tool's to manage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pycnb.buildpack.commands import run_captured
from pycnb.buildpack.dependencies.installer import Installer
from pycnb.buildpack.dependencies.installer_settings import installer_settings_changed
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.output import Output
from pycnb.buildpack.python.layer import PythonRuntime
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

__all__ = [
    "LAYER_NAME",
    "Venv",
    "VenvAction",
    "VenvDecision",
    "VenvLayerMetadata",
    "decide",
    "install_dependencies",
    "venv_of",
]

LAYER_NAME = LayerName("venv")


@dataclass(frozen=True)
class VenvLayerMetadata:
    package_manager: str
    python_version: str
    installer_version: str
    # requirements.txt and every file it includes, or the lockfile.
    requirements_digest: str
    # pyproject.toml and the tool's own config file (uv.toml, poetry.toml); "" for pip.
    project_digest: str
    groups: str  # GroupSelection.key
    # The installer settings (PIP_*, UV_*, ... env vars) are an input too, but this metadata
    # travels with the image and they may hold credentials: installer_settings.py tracks them.
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "package_manager": "package manager",
    "python_version": "Python version",
    "installer_version": "installer version",
    "requirements_digest": "requirements",
    "project_digest": "project files",
    "groups": "dependency groups (BP_PYTHON_GROUPS)",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}

# A change in any of these means the old venv cannot be the starting point: its interpreter is
# fixed at creation, compiled extensions belong to one platform, and one tool's leftovers are
# not another tool's to manage.
_RECREATE_ON = ("package_manager", "python_version", "arch", "distro_name", "distro_version")


def _labels(package_manager: PackageManager) -> dict[str, str]:
    files = ", ".join(package_manager.project_files) or "none"
    requirements = (
        "requirements"
        if package_manager in (PackageManager.PIP, PackageManager.PYPROJECT)
        else f"lockfile ({package_manager.file_name})"
    )
    return {
        **_LABELS,
        "installer_version": f"{package_manager.tool} version",
        "requirements_digest": requirements,
        "project_digest": f"project files ({files})",
    }


@dataclass(frozen=True)
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        # `lib/pythonX.Y/site-packages`: the one Python the venv was made with.
        found = sorted(self.path.glob("lib/python3.*/site-packages"))
        return found[0] if found else self.path / "lib" / "site-packages"


def venv_of(ctx: BuildContext) -> Venv:
    """The venv this build fills: the venv layer's directory, known before the layer exists, so
    installers can be set up for it first."""
    return Venv(ctx.layers_dir / str(LAYER_NAME))


class VenvAction(Enum):
    REUSE = "reuse"  # nothing changed: the installer does not run
    SYNC = "sync"  # keep the venv, and let the installer bring it up to date
    RECREATE = "recreate"  # start from an empty venv


@dataclass(frozen=True)
class VenvDecision:
    action: VenvAction
    reasons: tuple[str, ...]


def decide(
    old: VenvLayerMetadata,
    new: VenvLayerMetadata,
    *,
    package_manager: PackageManager,
    syncs: bool,
    settings_changed: bool = False,
    not_reusable: Sequence[str] = (),
    recreate_on: Sequence[str] = (),
) -> VenvDecision:
    """The reuse table of the module docstring. Pure; every reason that applies is listed.
    `recreate_on` adds fields whose change makes this installer start afresh."""
    labels = _labels(package_manager)
    settings = (
        [f"The installer settings ({package_manager.settings_prefix}* env vars) changed"]
        if settings_changed
        else []
    )
    if old.package_manager != new.package_manager:
        # The other inputs are a different tool's files and settings: comparing them says
        # nothing. The Python and the target still count, so no reason goes unsaid.
        return VenvDecision(VenvAction.RECREATE, tuple(_changed(old, new, labels, _RECREATE_ON)))
    everything = [*changed_inputs(old, new, labels), *settings]
    if _changed(old, new, labels, (*_RECREATE_ON, *recreate_on)):
        return VenvDecision(VenvAction.RECREATE, tuple(everything))
    if not_reusable:
        return VenvDecision(VenvAction.RECREATE, tuple(not_reusable))
    if not everything:
        return VenvDecision(VenvAction.REUSE, ())
    return VenvDecision(VenvAction.SYNC if syncs else VenvAction.RECREATE, tuple(everything))


def _changed(
    old: VenvLayerMetadata, new: VenvLayerMetadata, labels: Mapping[str, str], names: Sequence[str]
) -> list[str]:
    """`changed_inputs`, limited to the fields in `names`."""
    only = dataclasses.replace(new, **{name: getattr(old, name) for name in names})
    return changed_inputs(only, new, labels)


def install_dependencies(
    ctx: BuildContext,
    out: Output,
    *,
    runtime: PythonRuntime,
    installer: Installer,
    env: Mapping[str, str],
) -> Venv:
    """Fill (or reuse, or sync) the venv layer with `installer`; the venv later steps use."""
    inputs = installer.inputs
    settings_changed = installer_settings_changed(
        ctx, env, prefix=inputs.package_manager.settings_prefix
    )
    new = VenvLayerMetadata(
        package_manager=inputs.package_manager.value,
        python_version=runtime.version,
        installer_version=inputs.installer_version,
        requirements_digest=inputs.requirements_digest,
        project_digest=inputs.project_digest,
        groups=inputs.groups.key,
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    def restored_layer_action(
        old: VenvLayerMetadata, path: Path
    ) -> tuple[RestoredLayerAction, VenvDecision]:
        if not Venv(path).python.exists():
            reasons = ("The cached virtual environment is incomplete",)
            return RestoredLayerAction.DELETE, VenvDecision(VenvAction.RECREATE, reasons)
        decision = decide(
            old,
            new,
            package_manager=inputs.package_manager,
            syncs=installer.syncs,
            settings_changed=settings_changed,
            not_reusable=inputs.not_reusable,
            recreate_on=inputs.recreate_on,
        )
        if decision.action is VenvAction.RECREATE:
            return RestoredLayerAction.DELETE, decision
        return RestoredLayerAction.KEEP, decision

    layer = ctx.cached_layer(
        LAYER_NAME,
        CachedLayer(
            build=True,
            launch=True,
            metadata_type=VenvLayerMetadata,
            restored_layer_action=restored_layer_action,
        ),
    )
    venv = Venv(layer.path)
    match layer.state:
        case Restored(cause=VenvDecision(action=VenvAction.REUSE)):
            out.info("Using the cached virtual environment: its inputs have not changed")
            out.detail(f"Skipping {installer.command}")
        case Restored(cause=VenvDecision(reasons=reasons)):
            out.reasons("Updating the cached virtual environment since:", reasons)
            installer.install(app_dir=ctx.app_dir, env=env, out=out)
        case Empty(cause=cause):
            match cause:
                case Rejected(cause=VenvDecision(reasons=reasons)):
                    out.reasons("Rebuilding the virtual environment since:", reasons)
                case InvalidMetadata():
                    out.info("Rebuilding the virtual environment: its cached metadata is invalid")
                case _:
                    pass
            _create_venv(runtime, venv, env)
            installer.install(app_dir=ctx.app_dir, env=env, out=out)
    layer.write_env(
        LayerEnv()
        .add(Scope.ALL, Behavior.OVERRIDE, "VIRTUAL_ENV", str(layer.path))
        # Later buildpacks that run `pip install` install into the app's venv.
        .add(Scope.BUILD, Behavior.OVERRIDE, "PIP_PYTHON", str(venv.python))
    )
    layer.write_metadata(new)
    return venv


def _create_venv(runtime: PythonRuntime, venv: Venv, env: Mapping[str, str]) -> None:
    # --without-pip: the app's environment never holds an installer. `python -m venv`, not
    # `uv venv`, which adds import hooks to the environment (astral-sh/uv#6426).
    run_captured(
        [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv.path)],
        env=env,
        cwd=venv.path,
    )

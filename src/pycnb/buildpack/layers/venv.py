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
import hashlib
import hmac
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from pycnb.buildpack.groups import GroupSelection
from pycnb.buildpack.layers.invalidation import changed_inputs
from pycnb.buildpack.layers.pip import Pip
from pycnb.buildpack.layers.python import PythonRuntime
from pycnb.buildpack.layers.settings_key import settings_key
from pycnb.buildpack.output import Output
from pycnb.buildpack.package_manager import PackageManager
from pycnb.buildpack.process import CommandFailed, run_captured, run_streamed
from pycnb.buildpack.pyproject import PYPROJECT
from pycnb.buildpack.requirements import RequirementsInputs
from pycnb.buildpack.unrequired import ResolvedRoots, read_report, unrequired_distributions
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
    "SOURCE_DATE_EPOCH",
    "Installer",
    "InstallerFailed",
    "LockfileOutdated",
    "PipInstallFailed",
    "PipProjectInstall",
    "PipRequirementsInstall",
    "PythonRejected",
    "Venv",
    "VenvAction",
    "VenvDecision",
    "VenvInputs",
    "VenvLayerMetadata",
    "decide",
    "files_digest",
    "install_dependencies",
    "install_with_pip",
    "project_files",
    "settings_digest",
]

LAYER_NAME = LayerName("venv")

# pip's ZIP handling rejects dates before 1980, and with this set py_compile writes hash-based
# .pyc files, which stay valid after the lifecycle resets mtimes to 1980 on export. pip, uv and
# Poetry all compile through py_compile's default, so all three honour it (the integration tests
# check the .pyc headers).
SOURCE_DATE_EPOCH = "315532801"


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
    # A digest of the user's settings for the installer (PIP_*, UV_* or POETRY_* env vars: an
    # index URL changes what gets installed). Only the digest is stored: values may hold secrets.
    installer_settings_digest: str
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
    "installer_settings_digest": "installer settings",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}

# A change in any of these means the old venv cannot be the starting point: its interpreter is
# fixed at creation, compiled extensions belong to one platform, and one tool's leftovers are
# not another tool's to manage.
_RECREATE_ON = ("package_manager", "python_version", "arch", "distro_name", "distro_version")

_SETTINGS_PREFIX = {
    PackageManager.PIP: "PIP_",
    PackageManager.PYPROJECT: "PIP_",
    PackageManager.UV: "UV_",
    PackageManager.POETRY: "POETRY_",
}

_PROJECT_FILES = {
    PackageManager.PIP: (),
    PackageManager.PYPROJECT: (PYPROJECT,),
    PackageManager.UV: (PYPROJECT, "uv.toml"),
    PackageManager.POETRY: (PYPROJECT, "poetry.toml"),
}


def _labels(package_manager: PackageManager) -> dict[str, str]:
    prefix = _SETTINGS_PREFIX[package_manager]
    files = ", ".join(_PROJECT_FILES[package_manager]) or "none"
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
        "installer_settings_digest": f"installer settings ({prefix}* env vars)",
    }


@dataclass
class PipInstallFailed(Exception):
    requirements_file: str
    returncode: int

    def __str__(self) -> str:
        return f"pip install -r {self.requirements_file} exited with status {self.returncode}"


@dataclass
class InstallerFailed(Exception):
    """The installer failed for a reason pycnb does not recognise."""

    package_manager: PackageManager
    command: str  # the visible part, such as "uv sync --locked --no-default-groups"
    returncode: int
    output: str | None  # the tool's output when captured; None when it was streamed above

    def __str__(self) -> str:
        return f"{self.command} exited with status {self.returncode}"


@dataclass
class LockfileOutdated(Exception):
    """The lockfile no longer matches pyproject.toml, as the tool itself reported."""

    package_manager: PackageManager
    output: str  # the tool's own message

    def __str__(self) -> str:
        return f"{self.package_manager.file_name} is out of date"


@dataclass
class PythonRejected(Exception):
    """The tool refused the Python version: the project's constraint excludes it."""

    package_manager: PackageManager
    python_version: str
    output: str  # the tool's own message, which quotes the constraint

    def __str__(self) -> str:
        return f"{self.package_manager.value} rejected Python {self.python_version}"


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


@dataclass(frozen=True)
class VenvInputs:
    """What decides the venv's content, as one installer sees it."""

    package_manager: PackageManager
    installer_version: str
    requirements_digest: str
    project_digest: str = ""
    groups: GroupSelection = field(default_factory=GroupSelection)
    # Why this venv may never be reused, whatever the metadata says.
    not_reusable: tuple[str, ...] = ()


class Installer(Protocol):
    """One way to fill the venv. Implementations: pip (here), uv and Poetry (their layers)."""

    @property
    def inputs(self) -> VenvInputs: ...

    @property
    def syncs(self) -> bool:
        """True when the installer makes the venv match the lock exactly, removing packages
        that were dropped, so an existing venv is a safe starting point."""
        ...

    @property
    def command(self) -> str:
        """What is skipped when the venv is reused, as a user would type it: `uv sync`."""
        ...

    def install(
        self, venv: Venv, *, app_dir: Path, env: Mapping[str, str], out: Output
    ) -> None: ...


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
    not_reusable: Sequence[str] = (),
) -> VenvDecision:
    """The reuse table of the module docstring. Pure; every reason that applies is listed."""
    labels = _labels(package_manager)
    if old.package_manager != new.package_manager:
        # The other inputs are a different tool's files and settings: comparing them says
        # nothing. The Python and the target still count, so no reason goes unsaid.
        return VenvDecision(VenvAction.RECREATE, tuple(_changed(old, new, labels, _RECREATE_ON)))
    everything = changed_inputs(old, new, labels)
    if _changed(old, new, labels, _RECREATE_ON):
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
) -> LayerEnv:
    inputs = installer.inputs
    new = VenvLayerMetadata(
        package_manager=inputs.package_manager.value,
        python_version=runtime.version,
        installer_version=inputs.installer_version,
        requirements_digest=inputs.requirements_digest,
        project_digest=inputs.project_digest,
        groups=inputs.groups.key,
        installer_settings_digest=settings_digest(
            env, prefix=_SETTINGS_PREFIX[inputs.package_manager], key=settings_key(ctx)
        ),
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
            not_reusable=inputs.not_reusable,
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
            installer.install(venv, app_dir=ctx.app_dir, env=env, out=out)
        case Empty(cause=cause):
            match cause:
                case Rejected(cause=VenvDecision(reasons=reasons)):
                    out.reasons("Rebuilding the virtual environment since:", reasons)
                case InvalidMetadata():
                    out.info("Rebuilding the virtual environment: its cached metadata is invalid")
                case _:
                    pass
            _create_venv(runtime, venv, env)
            installer.install(venv, app_dir=ctx.app_dir, env=env, out=out)
    layer_env = layer.write_env(
        LayerEnv()
        .add(Scope.ALL, Behavior.OVERRIDE, "VIRTUAL_ENV", str(layer.path))
        # Later buildpacks that run `pip install` install into the app's venv.
        .add(Scope.BUILD, Behavior.OVERRIDE, "PIP_PYTHON", str(venv.python))
    )
    layer.write_metadata(new)
    return layer_env


def _create_venv(runtime: PythonRuntime, venv: Venv, env: Mapping[str, str]) -> None:
    # --without-pip: the app's environment never holds an installer. `python -m venv`, not
    # `uv venv`, which adds import hooks to the environment (astral-sh/uv#6426).
    run_captured(
        [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv.path)],
        env=env,
        cwd=venv.path,
    )


# --- pip -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipRequirementsInstall:
    """`pip install -r requirements.txt`, then, in a kept venv, uninstalling what the
    requirements no longer need (see `unrequired.py`), which pip alone never does."""

    pip: Pip
    pip_cache_dir: Path
    requirements: RequirementsInputs

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

    def install(self, venv: Venv, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        requirements_file = str(self.requirements.files[0].relative_to(app_dir))
        pip_env = _pip_env(env, venv, self.pip_cache_dir)
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


@dataclass(frozen=True)
class PipProjectInstall:
    """`pip install .`: a PEP 621 project without a lockfile, installed non-editably."""

    pip: Pip
    pip_cache_dir: Path
    pyproject_digest: str
    groups: GroupSelection

    syncs = False
    command = "pip install"

    @property
    def inputs(self) -> VenvInputs:
        return VenvInputs(
            package_manager=PackageManager.PYPROJECT,
            installer_version=self.pip.version,
            requirements_digest="",
            project_digest=self.pyproject_digest,
            groups=self.groups,
            # The installed app is a copy of its code, which pycnb does not track.
            not_reusable=(
                "pip installs the app itself from pyproject.toml, so its code is an input",
            ),
        )

    def install(self, venv: Venv, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        target = f".[{','.join(self.groups.extras)}]" if self.groups.extras else "."
        argv = [*self.pip.argv, "install", target]
        for group in self.groups.groups:
            argv += ["--group", group]  # PEP 735, read from ./pyproject.toml (pip >= 25.1)
        argv += ["--no-input", "--progress-bar", "off"]
        with out.step(f"Installing the project from {PYPROJECT} with pip"):
            try:
                run_streamed(argv, env=_pip_env(env, venv, self.pip_cache_dir), cwd=app_dir)
            except CommandFailed as error:
                raise InstallerFailed(
                    PackageManager.PYPROJECT, f"pip install {target}", error.returncode, None
                ) from None


def _pip_env(env: Mapping[str, str], venv: Venv, pip_cache_dir: Path) -> dict[str, str]:
    return {
        **env,
        "PIP_PYTHON": str(venv.python),
        "PIP_CACHE_DIR": str(pip_cache_dir),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # pip's own config files on the build machine must not change the app's environment;
        # settings come from PIP_* env vars, which the user controls through the platform.
        "PIP_CONFIG_FILE": "/dev/null",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
    }


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
    """requirements.txt with pip: `install_dependencies` with a `PipRequirementsInstall`."""
    installer = PipRequirementsInstall(pip, pip_cache_dir, requirements)
    return install_dependencies(ctx, out, runtime=runtime, installer=installer, env=env)


# --- digests ---------------------------------------------------------------------------------


def settings_digest(env: Mapping[str, str], *, prefix: str, key: bytes) -> str:
    """An HMAC, not a plain hash: the settings may hold credentials and the digest is in the
    image's metadata; without the key (`settings_key.py`) it confirms no guess."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for name in sorted(name for name in env if name.startswith(prefix)):
        digest.update(f"{name}\0{env[name]}\0".encode(errors="surrogateescape"))
    return digest.hexdigest()


def files_digest(app_dir: Path, names: Sequence[str]) -> str:
    """sha256 over each named file's name and bytes; a missing file counts as absent, so
    adding or removing it changes the digest too."""
    digest = hashlib.sha256()
    for name in names:
        try:
            content = (app_dir / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            digest.update(f"{name}\0absent\0".encode())
            continue
        digest.update(f"{name}\0".encode() + content + b"\0")
    return digest.hexdigest()


def project_files(package_manager: PackageManager) -> tuple[str, ...]:
    """The files besides the lockfile that decide what the installer does."""
    return _PROJECT_FILES[package_manager]

"""The Poetry layer: Poetry at the pinned version, outside the app's environment, and `poetry sync`.

build + cache, not launch: the image never holds an installer. Poetry is a Python application
with dependencies of its own, so it gets a private venv inside this layer (made with our Python,
filled by the bootstrap pip with the user's PIP_* settings, so a mirror of the index is enough,
then compiled to hash-based .pyc files on every CPU at once, see bytecode.py).
Only `<layer>/bin/poetry`, a symlink, is on PATH for later buildpacks: the rest of that venv's
`bin/` (its `python`, `keyring`, `virtualenv`...) must not shadow anything.

Poetry's user config (`~/.config/pypoetry`) is replaced by an empty directory in the layer, so the
build machine's config cannot change the build; users configure Poetry through POETRY_* env vars.
`poetry sync` fills the venv layer (see `venv.py` for when it runs at all): with virtualenv
creation off and `VIRTUAL_ENV` set, Poetry installs into our venv, and never looks for, creates or
downloads another Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycnb.buildpack.bytecode import compile_tree
from pycnb.buildpack.commands import CommandFailed, run_captured
from pycnb.buildpack.dependencies.bootstrap_pip import BootstrapPip
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_versions import POETRY_LOCK, POETRY_VERSION
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
from pycnb.buildpack.python.layer import PythonRuntime
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.layers import Empty
from pycnb.cnb.names import LayerName

__all__ = [
    "LAYER_NAME",
    "Poetry",
    "PoetryLayerMetadata",
    "PoetrySync",
    "classify_poetry_failure",
    "install_poetry",
]

# Sorts before `python` and `venv`: on PATH it comes after both.
LAYER_NAME = LayerName("poetry")


@dataclass(frozen=True)
class PoetryLayerMetadata:
    python_version: str  # Poetry's venv is bound to the Python that made it
    poetry_version: str
    # Poetry's dependencies include compiled extensions (rapidfuzz, msgpack, cffi...).
    arch: str
    distro_name: str
    distro_version: str


_LABELS = {
    "python_version": "Python version",
    "poetry_version": "Poetry version",
    "arch": "CPU architecture",
    "distro_name": "OS distribution",
    "distro_version": "OS distribution version",
}


@dataclass(frozen=True)
class Poetry:
    layer_dir: Path
    version: str

    @property
    def executable(self) -> Path:
        return self.layer_dir / "bin" / "poetry"

    @property
    def config_dir(self) -> Path:
        return self.layer_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.layer_dir / "data"


def install_poetry(
    ctx: BuildContext,
    out: Output,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> Poetry:
    new = PoetryLayerMetadata(
        python_version=runtime.version,
        poetry_version=POETRY_VERSION,
        arch=ctx.target.arch,
        distro_name=ctx.target.distro_name or "",
        distro_version=ctx.target.distro_version or "",
    )

    layer = open_keyed_layer(
        ctx,
        out,
        name=LAYER_NAME,
        what="Poetry",
        version=POETRY_VERSION,
        metadata=new,
        labels=_LABELS,
        build=True,
        launch=False,
        complete=lambda path: Poetry(path, POETRY_VERSION).executable.exists(),
    )
    poetry = Poetry(layer.path, POETRY_VERSION)
    if isinstance(layer.state, Empty):
        _populate(poetry, out, runtime, bootstrap, env)
    layer.write_env(
        # A later buildpack running `poetry` installs into our venv (VIRTUAL_ENV) too.
        LayerEnv()
        .add(Scope.BUILD, Behavior.OVERRIDE, "POETRY_VIRTUALENVS_CREATE", "false")
        .add(Scope.BUILD, Behavior.OVERRIDE, "POETRY_VIRTUALENVS_USE_POETRY_PYTHON", "false")
    )
    layer.write_metadata(new)
    return poetry


def _populate(
    poetry: Poetry,
    out: Output,
    runtime: PythonRuntime,
    bootstrap: BootstrapPip,
    env: Mapping[str, str],
) -> None:
    venv = Venv(poetry.layer_dir / "venv")
    with out.step(f"Installing Poetry {POETRY_VERSION}"):
        run_captured(
            [str(runtime.python), "-I", "-m", "venv", "--without-pip", str(venv.path)],
            env=env,
            cwd=poetry.layer_dir,
        )
        # Run by the venv's Python, pip installs into the venv (what `--python` does, which
        # older bundled pips lack) and starts once instead of re-running itself there.
        bootstrap.install(
            "Poetry",
            f"poetry=={POETRY_VERSION}",
            [],
            python=venv.python,
            # Poetry's dependencies as locked and hashed when this buildpack was made: the same
            # layer whenever it is built, every download checked against its sha256.
            locked=POETRY_LOCK,
            env=env,
            cwd=poetry.layer_dir,
        )
        compile_tree(runtime.python, venv.path / "lib", env=env, cwd=poetry.layer_dir)
        poetry.executable.parent.mkdir()
        poetry.executable.symlink_to(Path("..") / "venv" / "bin" / "poetry")
        poetry.config_dir.mkdir()
        poetry.data_dir.mkdir()


# --- poetry sync -----------------------------------------------------------------------------

# Poetry's wording at the pinned version, for errors that deserve their own fix. `poetry sync`
# checks the lock itself, so no separate `poetry check --lock` run is needed. A bump that changes
# the wording falls back to the generic error, which still shows Poetry's message.
_LOCK_OUTDATED = "changed significantly since poetry.lock was last generated"
_PYTHON_REJECTED = "is not allowed by the project"


@dataclass(frozen=True)
class PoetrySync:
    """`poetry sync --only main`: the venv becomes exactly what poetry.lock says."""

    poetry: Poetry
    cache_dir: Path
    lock_digest: str
    project_digest: str
    groups: GroupSelection
    python_version: str

    syncs = True  # poetry sync removes what the lock no longer lists
    command = "poetry sync"

    @property
    def inputs(self) -> VenvInputs:
        return VenvInputs(
            package_manager=PackageManager.POETRY,
            installer_version=self.poetry.version,
            requirements_digest=self.lock_digest,
            project_digest=self.project_digest,
            groups=self.groups,
        )

    def visible_args(self) -> list[str]:
        # `--only`, not `--with`: Poetry ignores `--with` next to `--only`, and without `--only`
        # it installs every non-optional group (dev included).
        args = ["sync", "--only", ",".join(("main", *self.groups.groups))]
        for extra in self.groups.extras:
            args += ["--extras", extra]
        return args

    def install(self, venv: Venv, *, app_dir: Path, env: Mapping[str, str], out: Output) -> None:
        argv = [
            str(self.poetry.executable),
            *self.visible_args(),
            "--compile",  # hash-based, since SOURCE_DATE_EPOCH is set below
            "--no-interaction",
            "--no-ansi",
        ]
        poetry_env = {
            **env,
            # Poetry installs into the active venv when it may not create its own.
            "VIRTUAL_ENV": str(venv.path),
            "PATH": f"{venv.path / 'bin'}:{self.poetry.executable.parent}:{env.get('PATH', '')}",
            "POETRY_VIRTUALENVS_CREATE": "false",
            "POETRY_VIRTUALENVS_USE_POETRY_PYTHON": "false",
            "POETRY_CACHE_DIR": str(self.cache_dir),
            "POETRY_CONFIG_DIR": str(self.poetry.config_dir),
            "POETRY_DATA_DIR": str(self.poetry.data_dir),
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        }
        # A build has no desktop keyring, and looking for one can hang; credentials come from
        # POETRY_HTTP_BASIC_* env vars. The user may turn it back on.
        poetry_env.setdefault("POETRY_KEYRING_ENABLED", "false")
        with out.step("Installing dependencies from poetry.lock with Poetry"):
            out.detail("Running: poetry " + " ".join(self.visible_args()))
            try:
                output = run_captured(argv, env=poetry_env, cwd=app_dir)
            except CommandFailed as error:
                raise classify_poetry_failure(
                    error, self.python_version, "poetry " + " ".join(self.visible_args())
                ) from None
            for line in output.splitlines():
                if line.strip():
                    out.detail(line.strip())


def classify_poetry_failure(
    error: CommandFailed, python_version: str, command: str
) -> LockfileOutdated | PythonRejected | InstallerFailed:
    output = error.output or ""
    if _LOCK_OUTDATED in output:
        return LockfileOutdated(PackageManager.POETRY, output)
    if _PYTHON_REJECTED in output:
        return PythonRejected(PackageManager.POETRY, python_version, output)
    return InstallerFailed(PackageManager.POETRY, command, error.returncode, output)

"""Poetry: its layer (data for `tools.py`) and `poetry sync` (data for `installer.ToolRun`).

Poetry is a Python application with dependencies of its own, so it gets a private venv in its
layer, filled from `data/poetry-requirements.txt` (every dependency pinned with hashes).
Poetry's user config (`~/.config/pypoetry`) is replaced by an empty directory in the layer, so the
build machine's config cannot change the build; users configure Poetry through POETRY_* env
vars. With virtualenv creation off and `VIRTUAL_ENV` set, Poetry installs into our venv, and never
looks for, creates or downloads another Python.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.failures import ToolFailures
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.tool_versions import POETRY_LOCK, POETRY_VERSION
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec
from pycnb.buildpack.dependencies.trust import TlsClient
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.names import LayerName

__all__ = ["FAILURES", "POETRY", "poetry_sync", "sync_args"]

_NO_VENV_OF_ITS_OWN = {
    "POETRY_VIRTUALENVS_CREATE": "false",
    "POETRY_VIRTUALENVS_USE_POETRY_PYTHON": "false",
}


def _later_buildpacks_env(_ctx: BuildContext) -> LayerEnv:
    # A later buildpack running `poetry` installs into our venv (VIRTUAL_ENV) too.
    env = LayerEnv()
    for name, value in _NO_VENV_OF_ITS_OWN.items():
        env = env.add(Scope.BUILD, Behavior.OVERRIDE, name, value)
    return env


POETRY = ToolSpec(
    package_manager=PackageManager.POETRY,
    name="Poetry",
    executable="poetry",
    version=POETRY_VERSION,
    # Sorts before `python` and `venv`: on PATH it comes after both.
    layer=LayerName("poetry"),
    cache_layer=LayerName("poetry-cache"),
    locked_requirements=POETRY_LOCK,
    later_buildpacks_env=_later_buildpacks_env,
    empty_dirs=("config", "data"),
)

# Poetry's wording at the pinned version. `poetry sync` checks the lock itself, so no separate
# `poetry check --lock` run is needed.
FAILURES = ToolFailures(
    lock_outdated="changed significantly since poetry.lock was last generated",
    python_rejected="is not allowed by the project",
    root_not_installable="The current project could not be installed",
    skip_root_args=("--no-root",),
    # A lock-version newer than it reads (it still reads 1.1 and 2.0, written by Poetry 1.x).
    lock_format="The lock file is not compatible with the current version of Poetry",
)


def sync_args(groups: GroupSelection) -> list[str]:
    # `--only`, not `--with`: Poetry ignores `--with` next to `--only`, and without `--only` it
    # installs every non-optional group (dev included).
    args = ["sync", "--only", ",".join(("main", *groups.groups))]
    for extra in groups.extras:
        args += ["--extras", extra]
    return args


def poetry_sync(
    poetry: InstalledTool, cache_dir: Path, inputs: VenvInputs, venv: Venv, python_version: str
) -> ToolRun:
    """`poetry sync --only main`: the venv becomes exactly what poetry.lock says."""
    return ToolRun(
        inputs=inputs,
        tool="poetry",
        executable=[str(poetry.executable)],
        args=sync_args(inputs.groups),
        hidden_args=["--compile", "--no-interaction", "--no-ansi"],
        env={
            # Poetry installs into the active venv when it may not create its own.
            "VIRTUAL_ENV": str(venv.path),
            **_NO_VENV_OF_ITS_OWN,
            "POETRY_CACHE_DIR": str(cache_dir),
            "POETRY_CONFIG_DIR": str(poetry.layer_dir / "config"),
            "POETRY_DATA_DIR": str(poetry.layer_dir / "data"),
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        },
        # A build has no desktop keyring, and looking for one can hang; credentials come from
        # POETRY_HTTP_BASIC_* env vars. The user may turn it back on.
        env_defaults={
            "POETRY_KEYRING_ENABLED": "false",
            # Compiling third-party code (a package's own tests) prints SyntaxWarnings by the
            # dozen that the app's author cannot act on.
            "PYTHONWARNINGS": "ignore::SyntaxWarning",
        },
        path_prepend=[venv.path / "bin", poetry.executable.parent],
        step="Installing dependencies from poetry.lock with Poetry",
        python_version=python_version,
        syncs=True,  # poetry sync removes what the lock no longer lists
        failures=FAILURES,
        tls=TlsClient.REQUESTS,
    )

"""Pipenv: its layer (data for `tools.py`) and `pipenv sync` (data for `installer.ToolRun`).

Pipenv is a Python application with dependencies of its own, so, like Poetry, it gets a private
venv in its layer, filled from `data/pipenv-requirements.txt` (every dependency pinned with
hashes). Pipenv installs with the pip it vendors, run by the target venv's Python, so our venv
needs no pip of its own; that pip reads the system's trust store itself (pip >= 24.2).

Two runs of Pipenv make `pipenv install --deploy` semantics without its leftovers:
`pipenv verify` fails when Pipfile.lock's `_meta.hash` no longer matches the Pipfile (what
`--deploy` checks, with a clean message instead of a traceback), then `pipenv sync --clean`
installs exactly the lock and removes what it no longer lists, so a kept venv is synced.
With `VIRTUAL_ENV` set (and Pipenv told not to ignore it), Pipenv installs into our venv and
never creates one of its own or looks for another Python.
"""

from __future__ import annotations

from pathlib import Path

from pycnb.buildpack.dependencies.failures import ToolFailures
from pycnb.buildpack.dependencies.groups import GroupSelection
from pycnb.buildpack.dependencies.installer import SOURCE_DATE_EPOCH, ToolRun, VenvInputs
from pycnb.buildpack.dependencies.package_manager import PackageManager
from pycnb.buildpack.dependencies.pipfile import DEFAULT_CATEGORY
from pycnb.buildpack.dependencies.tool_versions import PIPENV_LOCK, PIPENV_VERSION
from pycnb.buildpack.dependencies.tools import InstalledTool, ToolSpec
from pycnb.buildpack.dependencies.trust import TlsClient
from pycnb.buildpack.dependencies.venv import Venv
from pycnb.cnb.context import BuildContext
from pycnb.cnb.layer_env import Behavior, LayerEnv, Scope
from pycnb.cnb.names import LayerName

__all__ = ["FAILURES", "PIPENV", "VERIFY_ARGS", "pipenv_sync", "sync_args"]

_INTO_OUR_VENV = {
    # Pipenv uses the active venv (VIRTUAL_ENV) unless told to ignore it.
    "PIPENV_IGNORE_VIRTUALENVS": "0",
    # Pipenv loads the app's .env file into its own env by default: a build must not.
    "PIPENV_DONT_LOAD_ENV": "1",
}


def _later_buildpacks_env(_ctx: BuildContext) -> LayerEnv:
    # A later buildpack running `pipenv` installs into our venv (VIRTUAL_ENV) too.
    env = LayerEnv()
    for name, value in _INTO_OUR_VENV.items():
        env = env.add(Scope.BUILD, Behavior.OVERRIDE, name, value)
    return env


PIPENV = ToolSpec(
    package_manager=PackageManager.PIPENV,
    name="Pipenv",
    executable="pipenv",
    version=PIPENV_VERSION,
    # Sorts before `python` and `venv`: on PATH it comes after both.
    layer=LayerName("pipenv"),
    cache_layer=LayerName("pipenv-cache"),
    locked_requirements=PIPENV_LOCK,
    later_buildpacks_env=_later_buildpacks_env,
)

# Pipenv's wording at the pinned version (`pipenv verify`).
FAILURES = ToolFailures(lock_outdated="Pipfile.lock is out-of-date")

VERIFY_ARGS = ("verify",)


def sync_args(groups: GroupSelection) -> list[str]:
    """The arguments that decide what gets installed, as the log shows them."""
    args = [
        "sync",
        "--clean",  # remove what the lock no longer lists, so a kept venv matches it
    ]
    if groups.groups:
        # `--categories` replaces the default selection, so `packages` is named too.
        args += ["--categories", ",".join((DEFAULT_CATEGORY, *groups.groups))]
    return args


def pipenv_sync(
    pipenv: InstalledTool, cache_dir: Path, inputs: VenvInputs, venv: Venv, python_version: str
) -> ToolRun:
    """`pipenv verify`, then `pipenv sync --clean`: the venv becomes exactly what Pipfile.lock
    says for the chosen categories."""
    return ToolRun(
        inputs=inputs,
        tool="pipenv",
        executable=[str(pipenv.executable)],
        args=sync_args(inputs.groups),
        hidden_args=[],
        check_args=VERIFY_ARGS,
        env={
            "VIRTUAL_ENV": str(venv.path),
            **_INTO_OUR_VENV,
            "PIPENV_CACHE_DIR": str(cache_dir),
            # No spinner, and no notice that it found a venv (the point of VIRTUAL_ENV).
            "PIPENV_NOSPIN": "1",
            "PIPENV_VERBOSITY": "-1",
            "PIPENV_YES": "1",  # never wait for an answer
            "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        },
        path_prepend=[venv.path / "bin", pipenv.executable.parent],
        step="Installing dependencies from Pipfile.lock with Pipenv",
        python_version=python_version,
        syncs=True,  # sync --clean removes what the lock no longer lists
        failures=FAILURES,
        tls=TlsClient.TRUSTSTORE,
    )
